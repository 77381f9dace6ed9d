/**
 * Thousands of mutated SIP messages (oversized headers, lying Content-Length,
 * binary junk, broken headers, random byte flips) over UDP and TCP against a
 * real reflector process: the known-invalid ones get 400 or are dropped, the
 * process stays up, and a valid INVITE afterwards still joins.
 */
import { expect } from 'chai';
import dgram from 'node:dgram';
import net from 'node:net';
import { baseConfig, startReflector, type ReflectorProcess } from '../helpers/reflector-process.js';
import { StreamFramer, frameDatagram, type Frame } from '../../src/sip/transport/framing.js';
import { parseSipMessage, type SipResponse } from '../../src/sip/message.js';
import { clientSdp } from '../../tools/lib/media.js';
import { SipUdpClient } from '../../tools/lib/sip-client.js';
import { prng } from '../helpers/prng.js';

const IP = '127.0.2.30';
const CLIENT_IP = '127.0.2.130';
/**
 * The valid INVITEs at the end come from another address: the flipped INVITEs that still parse join
 * from CLIENT_IP and are never ACKed, so CLIENT_IP holds its limit of dialogs (32 per address, issue 11)
 * until their ACK timeout; a caller from any other address must still get in.
 */
const AFTER_IP = '127.0.2.131';

/** Paces a burst so that loopback UDP buffers do not overflow (not a synchronisation). */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => { setTimeout(resolve, ms); });
}

function invite(callId: string, opts: { extraHeaders?: string; contentLength?: string; body?: string; via?: string; cseq?: string; uriUser?: string; transport?: string } = {}): string {
  const body = opts.body ?? clientSdp(CLIENT_IP, 40000, 1, 'fuzz');
  const lines = [
    `INVITE sip:${opts.uriUser ?? 'fuzz'}@${IP}:5060 SIP/2.0`,
    opts.via ?? `Via: SIP/2.0/${opts.transport ?? 'UDP'} ${CLIENT_IP}:5090;branch=z9hG4bK${callId};rport`,
    'Max-Forwards: 70',
    `From: <sip:fuzzer@${CLIENT_IP}>;tag=f${callId}`,
    `To: <sip:fuzz@${IP}>`,
    `Call-ID: ${callId}`,
    opts.cseq ?? 'CSeq: 1 INVITE',
    `Contact: <sip:fuzzer@${CLIENT_IP}:5090>`,
    'Content-Type: application/sdp',
  ];
  if (opts.extraHeaders !== undefined) lines.push(opts.extraHeaders);
  lines.push(`Content-Length: ${opts.contentLength ?? String(Buffer.byteLength(body))}`);
  return lines.join('\r\n') + '\r\n\r\n' + body;
}

/** Messages that must never be accepted: 400 (when answerable) or dropped. */
function invalidMessages(rand: () => number, n: number, transport: string): { callId: string; data: Buffer }[] {
  const out: { callId: string; data: Buffer }[] = [];
  for (let i = 0; i < n; i++) {
    const callId = `bad${transport}${i}x${Math.floor(rand() * 1e9)}`;
    const kind = i % 8;
    let data: Buffer;
    switch (kind) {
      case 0: // oversized header (> 64 KiB message)
        data = Buffer.from(invite(callId, { extraHeaders: `X-Big: ${'a'.repeat(66_000 + Math.floor(rand() * 1000))}`, transport }));
        break;
      case 1: // Content-Length larger than the body (UDP: short datagram; TCP: closed by us)
        data = Buffer.from(invite(callId, { contentLength: String(5000 + Math.floor(rand() * 50_000)), transport }));
        break;
      case 2: // non-numeric / negative Content-Length
        data = Buffer.from(invite(callId, { contentLength: rand() < 0.5 ? '-5' : '12abc', transport }));
        break;
      case 3: { // binary junk
        const len = 1 + Math.floor(rand() * 1400);
        data = Buffer.alloc(len);
        for (let j = 0; j < len; j++) data[j] = Math.floor(rand() * 256);
        break;
      }
      case 4: // broken CSeq
        data = Buffer.from(invite(callId, { cseq: rand() < 0.5 ? 'CSeq: one INVITE' : 'CSeq: 1 BYE', transport }));
        break;
      case 5: // control characters in the session name
        data = Buffer.from(invite(callId, { uriUser: `bad%0${Math.floor(rand() * 9)}name`, transport }));
        break;
      case 6: // session name over 64 code points
        data = Buffer.from(invite(callId, { uriUser: 'x'.repeat(65 + Math.floor(rand() * 100)), transport }));
        break;
      default: // NUL bytes in the headers
        data = Buffer.from(invite(callId, { extraHeaders: `X-Nul: a\u0000b`, transport }));
        break;
    }
    out.push({ callId, data });
  }
  return out;
}

/** A valid INVITE with a few random bytes flipped: anything may come back, nothing may crash. */
function flipped(rand: () => number, i: number): Buffer {
  const b = Buffer.from(invite(`flip${i}`));
  const flips = 1 + Math.floor(rand() * 6);
  for (let j = 0; j < flips; j++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
  return rand() < 0.2 ? b.subarray(0, Math.floor(rand() * b.length)) : b;
}

function parseResponse(buf: Buffer): SipResponse | undefined {
  const f = frameDatagram(buf);
  if (typeof f === 'string') return undefined;
  const r = parseSipMessage(f.head, f.body);
  return r.ok && r.message.kind === 'response' ? r.message : undefined;
}

describe('sip: mutated messages against a real reflector process', function () {
  this.timeout(90_000);
  let refl: ReflectorProcess | null = null;
  const closers: (() => void)[] = [];

  afterEach(async () => {
    for (const c of closers.splice(0)) c();
    await refl?.stop();
    refl = null;
  });

  it('answers invalid messages with 400 or drops them, survives 3000+ mutations over UDP and TCP, then still joins', async () => {
    refl = await startReflector({ config: baseConfig(IP).replace('LOG_LEVEL debug', 'LOG_LEVEL info') });
    const rand = prng(0x5eed);

    // ---- UDP
    const sock = dgram.createSocket('udp4');
    closers.push(() => { try { sock.close(); } catch { /* closed */ } });
    await new Promise<void>((resolve) => sock.bind(5090, CLIENT_IP, resolve));
    const statuses = new Map<string, number[]>();
    sock.on('message', (buf) => {
      const r = parseResponse(buf);
      if (r === undefined) return;
      const list = statuses.get(r.callId) ?? [];
      list.push(r.status);
      statuses.set(r.callId, list);
    });
    const bad = invalidMessages(rand, 1600, 'UDP');
    let sentBytes = 0;
    for (const m of bad) {
      const d = m.data.length > 65_000 ? m.data.subarray(0, 65_000) : m.data;
      sock.send(d, 5060, IP);
      sentBytes += d.length;
      if (sentBytes > 64_000) { sentBytes = 0; await pause(5); }
    }
    for (let i = 0; i < 1000; i++) {
      sock.send(flipped(rand, i), 5060, IP);
      if (i % 20 === 0) await pause(3);
    }
    // Wait (bounded) until the answers to the invalid batch stop arriving: an OPTIONS probe is answered last.
    await new Promise<void>((resolve, reject) => {
      const probeId = 'probe-after-udp';
      const t = setTimeout(() => reject(new Error('no answer to the OPTIONS probe')), 10_000);
      const iv = setInterval(() => {
        if (statuses.has(probeId)) { clearInterval(iv); clearTimeout(t); resolve(); return; }
        const opt = [`OPTIONS sip:${IP}:5060 SIP/2.0`, `Via: SIP/2.0/UDP ${CLIENT_IP}:5090;branch=z9hG4bKprobe${Date.now()}`, 'Max-Forwards: 70',
          `From: <sip:p@${CLIENT_IP}>;tag=p`, `To: <sip:${IP}>`, `Call-ID: ${probeId}`, 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''].join('\r\n');
        sock.send(opt, 5060, IP);
      }, 200);
    });
    for (const m of bad) {
      const got = statuses.get(m.callId);
      if (got === undefined) continue; // dropped
      expect(got.every((s) => s === 400), `${m.callId}: ${got.join(',')} for ${m.data.subarray(0, 200).toString('latin1')}`).to.equal(true);
    }
    const answered400 = bad.filter((m) => statuses.get(m.callId)?.includes(400)).length;
    expect(answered400, 'the name and CSeq classes are answerable with 400').to.be.greaterThan(450);
    expect(refl.proc.exitCode).to.equal(null);

    // ---- TCP: invalid streams are answered 400 or the connection is closed; the server stays up.
    const tcpBad = invalidMessages(rand, 600, 'TCP');
    let closedByServer = 0;
    let tcp400 = 0;
    for (let i = 0; i < tcpBad.length; i += 30) {
      const batch = tcpBad.slice(i, i + 30);
      const results = await Promise.all(batch.map((m) => tcpExchange(m.data, rand() < 0.5 ? 1 : 1 + Math.floor(rand() * 7))));
      results.forEach((r, j) => {
        if (r.closedByServer) closedByServer++;
        for (const s of r.statuses) expect(s, `${batch[j]?.callId}`).to.equal(400);
        tcp400 += r.statuses.length;
      });
    }
    expect(closedByServer, 'framing violations close the connection').to.be.greaterThan(100);
    expect(tcp400).to.be.greaterThan(100);
    // Several messages in one segment and one message split byte by byte.
    const opts = (id: string): string => [`OPTIONS sip:${IP}:5060 SIP/2.0`, `Via: SIP/2.0/TCP ${CLIENT_IP}:5090;branch=z9hG4bK${id}`, 'Max-Forwards: 70',
      `From: <sip:p@${CLIENT_IP}>;tag=p`, `To: <sip:${IP}>`, `Call-ID: ${id}`, 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''].join('\r\n');
    const three = await tcpExchange(Buffer.from(opts('o1') + opts('o2') + '\r\n\r\n' + opts('o3')), 1, 3);
    expect(three.statuses).to.deep.equal([200, 200, 200]);
    const split = await tcpExchange(Buffer.from(opts('o4')), 10_000, 1);
    expect(split.statuses).to.deep.equal([200]);
    expect(refl.proc.exitCode).to.equal(null);

    // ---- a valid INVITE still joins (UDP), and over TCP too
    const cl = new SipUdpClient({ localAddress: AFTER_IP, server: IP, serverPort: 5060 });
    closers.push(() => cl.close());
    await cl.bind();
    const res = await cl.invite('after fuzz', clientSdp(AFTER_IP, 40010, 7, 'ok'));
    expect(res.status, refl.output().slice(-3000)).to.equal(200);
    expect(await cl.bye()).to.equal(200);
    const tcpInvite = await tcpExchange(Buffer.from(invite('tcpok', { transport: 'TCP', uriUser: 'after%20fuzz' })), 1, 1, AFTER_IP);
    expect(tcpInvite.statuses).to.deep.equal([200]);
    await refl.waitForLog((r) => JSON.stringify(r).includes('after fuzz'), 5000);
    expect(refl.proc.exitCode).to.equal(null);
  });
});

/**
 * Sends `data` over a fresh TCP connection in `pieces` segments, collects
 * responses until `expect` arrived, the server closed, or 0.6 s passed.
 */
async function tcpExchange(data: Buffer, pieces: number, expectCount = 1, localAddress = CLIENT_IP): Promise<{ statuses: number[]; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect({ host: IP, port: 5060, localAddress });
    const framer = new StreamFramer();
    const frames: Frame[] = [];
    const statuses: number[] = [];
    let done = false;
    const finish = (closedByServer: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(t);
      s.destroy();
      resolve({ statuses, closedByServer });
    };
    const t = setTimeout(() => finish(false), 600);
    s.on('error', () => finish(true));
    s.on('close', () => finish(true));
    s.on('data', (chunk: Buffer) => {
      frames.length = 0;
      framer.push(chunk, frames);
      for (const f of frames) {
        const r = parseSipMessage(f.head, f.body);
        if (r.ok && r.message.kind === 'response' && r.message.status >= 200) statuses.push(r.message.status);
      }
      if (statuses.length >= expectCount) finish(false);
    });
    s.on('connect', () => {
      const n = Math.max(1, Math.min(pieces, data.length));
      const size = Math.ceil(data.length / n);
      let off = 0;
      const writeNext = (): void => {
        if (done || off >= data.length) return;
        const piece = data.subarray(off, off + size);
        off += size;
        s.write(piece, () => { if (n > 1) setImmediate(writeNext); else writeNext(); });
      };
      writeNext();
    });
  });
}
