/**
 * Call quality from RTCP, end to end with a real reflector process: a test client whose RTP has a
 * known loss (every 10th packet missing) and whose RR reports a known loss and jitter about the
 * stream it receives, with LSR/DLSR naming an SR that the reflector forwarded to it; then an RFC
 * 3611 XR VoIP Metrics block. Checked in /api/sessions, /metrics (histograms by direction only)
 * and the participant_left log line; the E-model estimate against hand-computed values.
 */
import { expect } from 'chai';
import { request } from 'node:http';
import { estimateMos } from '../../src/reflector/call-quality.js';
import { encodeRtp } from '../../src/rtp/rtp-header.js';
import { VERSION } from '../../src/runtime/version.js';
import { ntpFromUnixMs, ntpMiddle32 } from '../../src/rtp/rtcp-sr.js';
import { SipUdpClient } from '../../tools/lib/sip-client.js';
import { parsePrometheusText, promValue } from '../helpers/prom-text.js';
import { baseConfig, startReflector, type ReflectorProcess } from '../helpers/reflector-process.js';
import { bindUdp, closeAll, type TestUdp } from '../helpers/udp.js';
import { waitUntil } from '../helpers/wait.js';

const IP = '127.0.80.60';
const STATUS = 8080;

function get(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: IP, port: STATUS, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

function sdp(address: string, rtp: number, rtcp: number, ssrc: number): string {
  return ['v=0', `o=- ${ssrc} 1 IN IP4 ${address}`, 's=q', `c=IN IP4 ${address}`, 't=0 0',
    `m=audio ${rtp} RTP/AVP 0`, 'a=rtpmap:0 PCMU/8000', `a=rtcp:${rtcp}`, `a=ssrc:${ssrc} cname:q${ssrc}`, 'a=sendrecv', ''].join('\r\n');
}

function sr(ssrc: number, ntp: { ntpSec: number; ntpFrac: number }): Buffer {
  const b = Buffer.alloc(28);
  b[0] = 0x80;
  b[1] = 200;
  b.writeUInt16BE(6, 2);
  b.writeUInt32BE(ssrc, 4);
  b.writeUInt32BE(ntp.ntpSec, 8);
  b.writeUInt32BE(ntp.ntpFrac, 12);
  return b;
}

/** RR from `ssrc` with one block about `about`: fraction lost, cumulative lost, jitter, LSR, DLSR. */
function rr(ssrc: number, about: number, fraction: number, jitter: number, lsr: number, dlsr: number): Buffer {
  const b = Buffer.alloc(32);
  b[0] = 0x81;
  b[1] = 201;
  b.writeUInt16BE(7, 2);
  b.writeUInt32BE(ssrc, 4);
  b.writeUInt32BE(about, 8);
  b[12] = fraction;
  b.writeUIntBE(25, 13, 3);
  b.writeUInt32BE(1000, 16);
  b.writeUInt32BE(jitter, 20);
  b.writeUInt32BE(lsr, 24);
  b.writeUInt32BE(dlsr, 28);
  return b;
}

/** RR without blocks + XR with one VoIP Metrics block (RFC 3611 §4.7): loss rate, round-trip delay. */
function rrXr(ssrc: number, about: number, lossRate: number, rttMs: number): Buffer {
  const head = Buffer.alloc(8);
  head[0] = 0x80;
  head[1] = 201;
  head.writeUInt16BE(1, 2);
  head.writeUInt32BE(ssrc, 4);
  const xr = Buffer.alloc(8 + 36);
  xr[0] = 0x80;
  xr[1] = 207;
  xr.writeUInt16BE(xr.length / 4 - 1, 2);
  xr.writeUInt32BE(ssrc, 4);
  xr[8] = 7; // BT = VoIP Metrics
  xr.writeUInt16BE(8, 10); // block length: 9 words − 1
  xr.writeUInt32BE(about, 12);
  xr[16] = lossRate;
  xr.writeUInt16BE(rttMs, 24);
  return Buffer.concat([head, xr]);
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface QualityJson {
  sent?: { lossPct: number; jitterMs: number; mos: number };
  received?: { lossPct: number; jitterMs: number; mos: number; source: string };
  rttMs?: number;
}

describe('call quality from RTCP (loss, jitter, RTT, MOS) in /api/sessions, /metrics and the leave log', function () {
  this.timeout(60_000);
  let refl: ReflectorProcess | null = null;
  const socks: TestUdp[] = [];
  const sips: SipUdpClient[] = [];

  afterEach(async () => {
    for (const s of sips.splice(0)) s.close();
    await closeAll(socks.splice(0));
    await refl?.stop();
    refl = null;
  });

  it('estimates MOS with the simplified E-model', () => {
    // d = 10 ms: Id = 0.24; no loss: R = 92.96 → MOS 4.40.
    expect(estimateMos(0, 0, 0)).to.equal(4.4);
    // 25 % loss, 20 ms jitter, 10 ms RTT: d = 55; Id = 1.32; Ie = 95·25/50.1 = 47.41; R = 44.47 → 2.29.
    expect(estimateMos(25, 20, 10)).to.equal(2.29);
    // Long delay adds the 0.11·(d − 177.3) term: RTT 600 ms, d = 310 → Id = 7.44 + 14.60; R = 71.16 → 3.65.
    expect(estimateMos(0, 0, 600)).to.equal(3.65);
    expect(estimateMos(100, 500, 5000)).to.equal(1);
    expect(estimateMos(1, 0, 0)).to.be.lessThan(estimateMos(0, 0, 0));
  });

  it('a client with known loss and jitter: figures per direction, histograms by direction, quality in participant_left', async () => {
    refl = await startReflector({ config: baseConfig(IP, '', { statusPort: STATUS }) });
    const join = async (local: string, user: string, ssrc: number): Promise<{ rtp: TestUdp; rtcp: TestUdp; sip: SipUdpClient }> => {
      const rtp = await bindUdp(local);
      const rtcp = await bindUdp(local);
      socks.push(rtp, rtcp);
      const sip = new SipUdpClient({ localAddress: local, server: IP, serverPort: 5060, user, displayName: `${user[0].toUpperCase()}${user.slice(1)} "Q" Tester` });
      sips.push(sip);
      await sip.bind();
      const r = await sip.invite('quality', sdp(local, rtp.port, rtcp.port, ssrc));
      expect(r.status).to.equal(200);
      return { rtp, rtcp, sip };
    };
    const A = 0xa11ce;
    const B = 0xb0b;
    const a = await join('127.0.80.61', 'alice', A);
    const b = await join('127.0.80.62', 'bob', B);

    // a sends 100 packets at 20 ms (timestamps 160 apart), every 10th missing: 10 % loss.
    for (let i = 0; i < 100; i++) {
      if (i % 10 !== 5) await a.rtp.send(encodeRtp({ payloadType: 0, sequenceNumber: 1000 + i, timestamp: 5000 + 160 * i, ssrc: A }, Buffer.alloc(160, 0xff)), 5566, IP);
      await pause(20);
    }
    // b's SR reaches a through the reflector; a reports about b 40 ms later (DLSR), with 25 % loss and 20 ms jitter.
    const ntp = ntpFromUnixMs(Date.now());
    await b.rtcp.send(sr(B, ntp), 5567, IP);
    await a.rtcp.nextMatching((x) => x.msg[1] === 200, 5000);
    const heldAt = performance.now();
    await pause(40);
    const dlsr = Math.round(((performance.now() - heldAt) * 65536) / 1000);
    await a.rtcp.send(rr(A, B, 64, 160, ntpMiddle32(ntp.ntpSec, ntp.ntpFrac), dlsr), 5567, IP);

    const quality = await waitUntil(async () => {
      const sessions = JSON.parse(await get('/api/sessions')) as { participants: { user?: string; quality?: QualityJson }[] }[];
      return sessions[0]?.participants.find((p) => p.user === 'alice')?.quality;
    }, 5000, 'quality of alice in /api/sessions');
    expect(quality.received?.source).to.equal('rr');
    // Named by the SIP display name (and user), as the dashboard shows them.
    const names = (JSON.parse(await get('/api/sessions')) as { participants: { user?: string; displayName?: string }[] }[])[0].participants
      .map((p) => [p.displayName, p.user]).sort();
    expect(names).to.deep.equal([['Alice "Q" Tester', 'alice'], ['Bob "Q" Tester', 'bob']]);
    expect(quality.received?.lossPct).to.equal(25);
    expect(quality.received?.jitterMs).to.equal(20);
    expect(quality.rttMs, 'RTT from LSR/DLSR').to.be.a('number');
    expect(quality.rttMs!).to.be.at.least(0).and.below(40, 'loopback RTT (the 40 ms DLSR is subtracted)');
    expect(quality.received?.mos).to.equal(estimateMos(25, 20, quality.rttMs!));
    expect(quality.sent?.lossPct, 'sent: 10 of 100 packets missing').to.equal(10);
    expect(quality.sent?.jitterMs).to.be.a('number');
    expect(quality.sent?.mos).to.equal(estimateMos(10, quality.sent!.jitterMs, quality.rttMs!));

    // Histograms by direction only: the received 25 % falls in the (20, 50] bucket, the sent 10 % in (5, 10].
    const fams = parsePrometheusText(await get('/metrics'));
    expect(fams.get('reflector_call_loss_percent')?.type).to.equal('histogram');
    expect(promValue(fams, 'reflector_call_loss_percent_count', { direction: 'received' })).to.equal(1);
    expect(promValue(fams, 'reflector_call_loss_percent_bucket', { direction: 'received', le: '20' })).to.equal(0);
    expect(promValue(fams, 'reflector_call_loss_percent_bucket', { direction: 'received', le: '50' })).to.equal(1);
    expect(promValue(fams, 'reflector_call_loss_percent_bucket', { direction: 'sent', le: '5' })).to.equal(0);
    expect(promValue(fams, 'reflector_call_loss_percent_bucket', { direction: 'sent', le: '10' })).to.equal(1);
    expect(promValue(fams, 'reflector_call_jitter_ms_bucket', { direction: 'received', le: '20' })).to.equal(1);
    expect(promValue(fams, 'reflector_call_rtt_ms_count')).to.equal(1);
    expect(promValue(fams, 'reflector_call_mos_count', { direction: 'received' })).to.equal(1);
    const labels = new Set(fams.get('reflector_call_mos')?.samples.flatMap((s) => Object.keys(s.labels)));
    expect([...labels].sort()).to.deep.equal(['direction', 'le']);

    // Counters are typed as counters, current values as gauges; build_info names the version.
    expect(fams.get('reflector_sip_events_total')?.type).to.equal('counter');
    expect(promValue(fams, 'reflector_sip_events_total', { name: 'responses_200' })).to.be.at.least(2);
    expect(fams.get('reflector_sip_stat')?.type).to.equal('gauge');
    expect(promValue(fams, 'reflector_sip_stat', { name: 'dialogs' })).to.equal(2);
    expect(promValue(fams, 'reflector_sip_stat', { name: 'responses_200' }), 'a count is not a gauge').to.equal(undefined);
    expect(fams.get('reflector_mixer_events_total')?.type).to.equal('counter');
    expect(fams.get('reflector_handled_packets_total')?.type).to.equal('counter');
    expect(promValue(fams, 'reflector_build_info', { version: VERSION })).to.equal(1);

    // An XR VoIP Metrics block (loss rate 13/256 = 5.1 %) takes over the received loss.
    await a.rtcp.send(rrXr(A, B, 13, 120), 5567, IP);
    const xr = await waitUntil(async () => {
      const sessions = JSON.parse(await get('/api/sessions')) as { participants: { user?: string; quality?: QualityJson }[] }[];
      const q = sessions[0]?.participants.find((p) => p.user === 'alice')?.quality;
      return q?.received?.source === 'xr' ? q : undefined;
    }, 5000, 'XR figures');
    expect(xr.received?.lossPct).to.equal(5.1);

    // The leave log line carries the figures.
    expect(await a.sip.bye()).to.equal(200);
    const left = await refl.waitForLog((r) => r.event === 'participant_left' && r.reason === 'bye', 5000);
    const q = left.quality as QualityJson;
    expect(q.received?.lossPct).to.equal(5.1);
    expect(q.sent?.lossPct).to.equal(10);
  });
});
