/**
 * SPEC §15 with real processes: SIP over TLS, SRTP/SRTCP termination per participant, plain and
 * SRTP participants in one session, SRTP policies, tampered SRTP dropped and counted, the
 * certificate re-read on SIGHUP without dropping a TLS call. Certificates are made at test time
 * (openssl) in a temporary directory. Addresses: 127.0.60.0/24 (this area's block).
 */
import { expect } from 'chai';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import * as sdpTransform from 'sdp-transform';
import { runClient, type ClientSummary } from '../../tools/client.js';
import { answerSrtpKey, clientSdp } from '../../tools/lib/media.js';
import { SipUdpClient } from '../../tools/lib/sip-client.js';
import { newLocalKey } from '../../src/sip/uas/sdp-crypto.js';
import { SrtpOutbound } from '../../src/srtp/srtp-context.js';
import { startReflector, type ReflectorProcess } from '../helpers/reflector-process.js';
import { parsePrometheusText, promValue } from '../helpers/prom-text.js';
import { makeTestCert, type TestCert } from '../helpers/tls-cert.js';
import { waitUntil } from '../helpers/wait.js';
import { wavHasTone } from '../interop/tone.js';

const R = '127.0.60.1';
const STATUS = 18080;

function config(extra = ''): string {
  return [
    `LISTEN_ADDRESS ${R}`, 'SIP_PORT 5060', 'SIP_TLS_PORT 5061', 'TLS_CERT tls-cert.pem', 'TLS_KEY tls-key.pem',
    `STATUS_LISTEN ${R}:${STATUS}`, 'ADMIN_TOKEN test-token-1234', 'LOG_LEVEL info', extra, '',
  ].join('\n');
}

async function dropCount(reason: string): Promise<number> {
  const text = await (await fetch(`http://${R}:${STATUS}/metrics`)).text();
  // Only this family is parsed: prom-client's event-loop-lag gauges may print "Nan", which the strict parser refuses.
  const family = text.split('\n').filter((l) => l.startsWith('reflector_dropped_packets_total') || l.startsWith('# HELP reflector_dropped_packets_total') || l.startsWith('# TYPE reflector_dropped_packets_total')).join('\n');
  return promValue(parsePrometheusText(`${family}\n`), 'reflector_dropped_packets_total', { part: 'reflector', reason }) ?? 0;
}

function rtp(seq: number, ssrc: number, fill: number): Buffer {
  const b = Buffer.alloc(12 + 160, fill);
  b[0] = 0x80; b[1] = 0; b.writeUInt16BE(seq, 2); b.writeUInt32BE(seq * 160, 4); b.writeUInt32BE(ssrc, 8);
  return b;
}

describe('integration: SIP over TLS and SRTP (SPEC §15)', function () {
  this.timeout(60_000);
  let dir = '';
  let cert: TestCert;
  let r: ReflectorProcess | null = null;
  const sockets: dgram.Socket[] = [];
  const sips: SipUdpClient[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'rr-srtp-'));
  });
  afterEach(async function () {
    for (const s of sips.splice(0)) s.close();
    for (const s of sockets.splice(0)) await new Promise<void>((resolve) => { try { s.close(() => resolve()); } catch { resolve(); } });
    if (this.currentTest?.state === 'failed' && r !== null) console.log(r.output().slice(-4000));
    if (r !== null) await r.stop();
    r = null;
  });
  after(() => { rmSync(dir, { recursive: true, force: true }); });

  /** A reflector whose directory holds a test certificate (made before it starts). */
  async function start(extra = ''): Promise<ReflectorProcess> {
    const p = await startReflectorWithCert(extra);
    r = p;
    return p;
  }

  async function startReflectorWithCert(extra: string): Promise<ReflectorProcess> {
    // startReflector makes its own directory; TLS_CERT paths are absolute into ours.
    cert = makeTestCert(dir, 'reflector-one', R);
    const text = config(extra).replace('TLS_CERT tls-cert.pem', `TLS_CERT ${cert.cert}`).replace('TLS_KEY tls-key.pem', `TLS_KEY ${cert.key}`);
    return startReflector({ config: text });
  }

  it('a TLS+SRTP client and a plain UDP client in one session hear each other\'s tone', async () => {
    const p = await start();
    const rec = join(dir, 'rec-a');
    const recB = join(dir, 'rec-b');
    const a = runClient({
      server: R, serverPort: 5061, session: 'mixed room', local: '127.0.60.10', toneHz: 440, durationS: 5,
      tls: true, tlsCa: readFileSync(cert.cert), srtp: 'AES_CM_128_HMAC_SHA1_80', recordDir: rec,
    });
    await new Promise((res) => setTimeout(res, 300));
    const b = runClient({ server: R, serverPort: 5060, session: 'mixed room', local: '127.0.60.11', toneHz: 1000, durationS: 4, recordDir: recB });
    const [sa, sb]: ClientSummary[] = await Promise.all([a, b]);
    expect(sa.error, JSON.stringify(sa)).to.equal(undefined);
    expect(sb.error, JSON.stringify(sb)).to.equal(undefined);
    expect([sa.transport, sa.srtp, sb.srtp]).to.deep.equal(['tls', true, false]);
    expect(sa.srtpDrops).to.deep.equal({});
    const fromB = sa.received.find((x) => x.ssrc === sb.ssrc);
    const fromA = sb.received.find((x) => x.ssrc === sa.ssrc);
    expect(fromB?.wav, JSON.stringify(sa.received)).to.be.a('string');
    expect(fromA?.wav, JSON.stringify(sb.received)).to.be.a('string');
    expect(wavHasTone(fromB?.wav ?? '', 1000).present, 'SRTP client hears 1000 Hz').to.equal(true);
    expect(wavHasTone(fromA?.wav ?? '', 440).present, 'plain client hears 440 Hz').to.equal(true);
    expect(fromA?.rtcpPackets ?? 0).to.be.greaterThan(0);
    // Keys went over TLS: no warning about keys in clear.
    expect(p.logs.some((l) => l.event === 'srtp_keys_in_clear')).to.equal(false);
    expect(await dropCount('srtp_auth_failed')).to.equal(0);
  });

  it('SRTP required answers a plain offer 488; SRTP off answers RTP/SAVP 488 (after SIGHUP)', async () => {
    const p = await start('SRTP required');
    const plain = await runClient({ server: R, serverPort: 5060, session: 'policy', local: '127.0.60.12', durationS: 1 });
    expect(plain.statuses).to.deep.equal([488]);
    expect(plain.error).to.match(/488 SRTP required/);
    const sec = await runClient({ server: R, serverPort: 5061, session: 'policy', local: '127.0.60.12', durationS: 1, tls: true, tlsVerify: false, srtp: 'AES_CM_128_HMAC_SHA1_32' });
    expect(sec.statuses).to.deep.equal([200]);
    expect(sec.srtp).to.equal(true);
    p.writeConfig(config('SRTP off').replace('TLS_CERT tls-cert.pem', `TLS_CERT ${cert.cert}`).replace('TLS_KEY tls-key.pem', `TLS_KEY ${cert.key}`));
    p.signal('SIGHUP');
    await p.waitForLog((l) => l.event === 'reloaded', 10_000);
    const off = await runClient({ server: R, serverPort: 5061, session: 'policy', local: '127.0.60.12', durationS: 1, tls: true, tlsVerify: false, srtp: 'AES_CM_128_HMAC_SHA1_80' });
    expect(off.statuses).to.deep.equal([488]);
    expect(off.error).to.match(/SRTP not enabled/);
  });

  it('tampered SRTP (flipped bit, replay, wrong key) is dropped, counted and reaches no one; keys over UDP warn once', async () => {
    const p = await start();
    // Participant A: SRTP over plain UDP SIP, media from a socket of ours.
    // Fixed ports on addresses of this test's own: RTCP is RTP port + 1 (a=rtcp of clientSdp).
    const aMedia = dgram.createSocket('udp4');
    const aRtcp = dgram.createSocket('udp4');
    const bMedia = dgram.createSocket('udp4');
    const bRtcp = dgram.createSocket('udp4');
    sockets.push(aMedia, aRtcp, bMedia, bRtcp);
    const bind = (s: dgram.Socket, port: number, ip: string): Promise<void> => new Promise((res) => s.bind(port, ip, () => res()));
    await bind(aMedia, 46402, '127.0.60.20');
    await bind(aRtcp, 46403, '127.0.60.20');
    await bind(bMedia, 46400, '127.0.60.21');
    await bind(bRtcp, 46401, '127.0.60.21');
    const aKey = newLocalKey('AES_CM_128_HMAC_SHA1_80');
    const aSip = new SipUdpClient({ localAddress: '127.0.60.20', server: R, serverPort: 5060, user: 'a' });
    const bSip = new SipUdpClient({ localAddress: '127.0.60.21', server: R, serverPort: 5060, user: 'b' });
    sips.push(aSip, bSip);
    await aSip.bind();
    await bSip.bind();
    const ssrcA = 0x0a0a0a0a;
    const aRes = await aSip.invite('tamper', clientSdp('127.0.60.20', aMedia.address().port, ssrcA, 'a', 'sendrecv', undefined, aKey));
    expect(aRes.status).to.equal(200);
    const aAudio = sdpTransform.parse(aRes.answerSdp ?? '').media[0];
    expect(aAudio?.protocol).to.equal('RTP/SAVP');
    expect(aAudio !== undefined && answerSrtpKey(aAudio) !== undefined).to.equal(true);
    const bRes = await bSip.invite('tamper', clientSdp('127.0.60.21', bMedia.address().port, 0x0b0b0b0b, 'b'));
    expect(bRes.status).to.equal(200);
    // A second SRTP join over UDP: still one warning.
    const cKey = newLocalKey('AES_CM_128_HMAC_SHA1_32');
    const cSip = new SipUdpClient({ localAddress: '127.0.60.22', server: R, serverPort: 5060, user: 'c' });
    sips.push(cSip);
    await cSip.bind();
    expect((await cSip.invite('other', clientSdp('127.0.60.22', 40000, 1, 'c', 'recvonly', undefined, cKey))).status).to.equal(200);

    // The status API says which streams are SRTP.
    const sessions = await (await fetch(`http://${R}:${STATUS}/api/sessions`)).json() as { name: string; participants: { user?: string; streams: { srtp?: string }[] }[] }[];
    const tamper = sessions.find((x) => x.name === 'tamper');
    expect(tamper?.participants.map((x) => [x.user, x.streams[0]?.srtp ?? null]).sort()).to.deep.equal([['a', 'AES_CM_128_HMAC_SHA1_80'], ['b', null]]);
    const got: Buffer[] = [];
    bMedia.on('message', (m) => { if (m.length >= 12 && m[1] < 192) got.push(Buffer.from(m)); });
    const out = new SrtpOutbound(aKey);
    const wrong = new SrtpOutbound(newLocalKey('AES_CM_128_HMAC_SHA1_80'));
    const send = (b: Buffer): Promise<void> => new Promise((res) => aMedia.send(b, 5566, R, () => res()));
    const before = { auth: await dropCount('srtp_auth_failed'), replay: await dropCount('srtp_replay') };
    const valid: number[] = [];
    let replayCopy = Buffer.alloc(0);
    for (let seq = 100; seq < 110; seq++) {
      const pkt = out.protectRtp(rtp(seq, ssrcA, 0x55)) ?? Buffer.alloc(0);
      if (seq === 103) replayCopy = Buffer.from(pkt);
      await send(pkt);
      valid.push(seq);
      await new Promise((res) => setTimeout(res, 5));
    }
    const flipped = out.protectRtp(rtp(110, ssrcA, 0x66)) ?? Buffer.alloc(0);
    flipped[40] ^= 0x08;
    await send(flipped);
    await send(replayCopy);
    await send(wrong.protectRtp(rtp(111, ssrcA, 0x77)) ?? Buffer.alloc(0));
    // An authentic packet that only an attacker without the key could not make: bits flipped in the tag.
    const badTag = out.protectRtp(rtp(112, ssrcA, 0x66)) ?? Buffer.alloc(0);
    badTag[badTag.length - 1] ^= 0x01;
    await send(badTag);
    for (let seq = 113; seq < 116; seq++) { await send(out.protectRtp(rtp(seq, ssrcA, 0x55)) ?? Buffer.alloc(0)); valid.push(seq); }
    await waitUntil(() => (got.length >= valid.length ? true : undefined), 5000, 'valid packets at B');
    await new Promise((res) => setTimeout(res, 300));
    expect(got.map((g) => g.readUInt16BE(2))).to.deep.equal(valid);
    // B (plain) gets the decrypted payload, never the tampered ones (0x66, 0x77 fills).
    for (const g of got) expect(g.subarray(12).every((x) => x === 0x55)).to.equal(true);
    expect(await dropCount('srtp_auth_failed') - before.auth).to.equal(3);
    expect(await dropCount('srtp_replay') - before.replay).to.equal(1);

    // SRTCP: one authentic SR reaches B decrypted; a flipped bit and a replay reach no one.
    const rtcpAtB: Buffer[] = [];
    bRtcp.on('message', (m) => { rtcpAtB.push(Buffer.from(m)); });
    const sr = Buffer.alloc(28);
    sr[0] = 0x80; sr[1] = 200; sr.writeUInt16BE(6, 2); sr.writeUInt32BE(ssrcA, 4); sr.fill(0x42, 8);
    const srtcp = out.protectRtcp(sr) ?? Buffer.alloc(0);
    const sendRtcp = (b: Buffer): Promise<void> => new Promise((res) => aRtcp.send(b, 5567, R, () => res()));
    const tampered = Buffer.from(out.protectRtcp(sr) ?? Buffer.alloc(0));
    tampered[12] ^= 0x01;
    const before2 = { auth: await dropCount('srtp_auth_failed'), replay: await dropCount('srtp_replay') };
    await sendRtcp(srtcp);
    await sendRtcp(tampered);
    await sendRtcp(srtcp);
    await waitUntil(() => (rtcpAtB.length >= 1 ? true : undefined), 5000, 'RTCP at B');
    await new Promise((res) => setTimeout(res, 300));
    expect(rtcpAtB.map((m) => m.toString('hex'))).to.deep.equal([sr.toString('hex')]);
    expect(await dropCount('srtp_auth_failed') - before2.auth).to.equal(1);
    expect(await dropCount('srtp_replay') - before2.replay).to.equal(1);
    expect(p.logs.filter((l) => l.event === 'srtp_keys_in_clear')).to.have.length(1);
  });

  it('the reflector\'s BYE reaches a TLS participant over its connection', async () => {
    const p = await start();
    const c = runClient({ server: R, serverPort: 5061, session: 'kick me', local: '127.0.60.13', durationS: 20, tls: true, tlsVerify: false, srtp: 'AES_CM_128_HMAC_SHA1_80' });
    await p.waitForLog((l) => l.event === 'participant_joined', 10_000);
    const res = await fetch(`http://${R}:${STATUS}/api/sessions/kick%20me`, { method: 'DELETE', headers: { authorization: 'Bearer test-token-1234' } });
    expect(res.status).to.be.lessThan(300);
    const s = await c;
    expect(s.endedBy, JSON.stringify(s)).to.equal('reflector');
    await p.waitForLog((l) => l.event === 'sip_bye_sent', 5000);
  });

  it('SIGHUP re-reads the certificate: new connections see the new one, a TLS call on the old one goes on', async () => {
    const p = await start();
    const peerCn = async (): Promise<string> => {
      const s = tls.connect({ host: R, port: 5061, rejectUnauthorized: false });
      await new Promise<void>((res, rej) => { s.once('secureConnect', () => res()); s.once('error', rej); });
      const cn = s.getPeerCertificate().subject?.CN ?? '';
      s.destroy();
      return String(cn);
    };
    expect(await peerCn()).to.equal('reflector-one');
    const call = runClient({ server: R, serverPort: 5061, session: 'long call', local: '127.0.60.14', durationS: 4, tls: true, tlsVerify: false, srtp: 'AES_CM_128_HMAC_SHA1_80', toneHz: 600 });
    await p.waitForLog((l) => l.event === 'participant_joined', 10_000);
    makeTestCert(dir, 'reflector-two', R); // same file names: replaces the files in place
    p.signal('SIGHUP');
    await p.waitForLog((l) => l.event === 'sip_tls_reloaded', 10_000);
    expect(await peerCn()).to.equal('reflector-two');
    const s = await call;
    expect(s.error, JSON.stringify(s)).to.equal(undefined);
    expect(s.endedBy).to.equal('client');
    expect(s.byeStatus).to.equal(200);
    expect(p.logs.filter((l) => l.event === 'participant_left' && l.reason !== 'bye')).to.have.length(0);
  });
  it('across a reflector pair: an SRTP participant at one and a plain one at the other hear each other (decrypted at the edge, relayed in clear to the peer)', async () => {
    cert = makeTestCert(dir, 'reflector-one', R);
    const R2 = '127.0.60.2';
    const pair = (self: string, peer: string): string => [
      `LISTEN_ADDRESS ${self}`, `PUBLIC_ADDRESS ${self}`, `REFLECTOR_ID r-${self}`, `REFLECTOR_INTERCONNECTION ${peer} 5564 pair-secret`,
      `TLS_CERT ${cert.cert}`, `TLS_KEY ${cert.key}`, 'STATUS_LISTEN off', 'LOG_LEVEL info', '',
    ].join('\n');
    const r1 = await startReflector({ config: pair(R, R2) });
    r = r1;
    const r2 = await startReflector({ config: pair(R2, R) });
    try {
      await r2.waitForLog((l) => l.event === 'peer_up', 15_000);
      const recA = join(dir, 'pair-a');
      const recB = join(dir, 'pair-b');
      const a = runClient({ server: R, serverPort: 5061, session: 'pair', local: '127.0.60.15', toneHz: 440, durationS: 6, tls: true, tlsVerify: false, srtp: 'AES_CM_128_HMAC_SHA1_80', recordDir: recA });
      const b = runClient({ server: R2, serverPort: 5060, session: 'pair', local: '127.0.60.16', toneHz: 1000, durationS: 6, recordDir: recB });
      const [sa, sb] = await Promise.all([a, b]);
      expect(sa.error ?? sb.error, JSON.stringify([sa, sb])).to.equal(undefined);
      expect(sa.srtp).to.equal(true);
      expect(sa.srtpDrops).to.deep.equal({});
      const fromB = sa.received.find((x) => x.ssrc === sb.ssrc);
      const fromA = sb.received.find((x) => x.ssrc === sa.ssrc);
      expect(wavHasTone(fromB?.wav ?? '', 1000).present, `SRTP client at R1 hears R2's plain client: ${JSON.stringify(sa.received)}`).to.equal(true);
      expect(wavHasTone(fromA?.wav ?? '', 440).present, `plain client at R2 hears R1's SRTP client: ${JSON.stringify(sb.received)}`).to.equal(true);
    } finally {
      await r2.stop();
    }
  });
});
