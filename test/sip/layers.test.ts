/**
 * Behaviour that belongs to the boundaries between the SIP layers, against the real front end and
 * core over real sockets (127.0.30.x): a parse failure is counted once (by the transport), a
 * response the transport cannot send (TCP connection gone) is a transport error fed to its
 * transaction, and the dialog whose 2xx could not be sent ends at once (not at Timer L, 32 s).
 */
import { expect } from 'chai';
import dgram from 'node:dgram';
import net from 'node:net';
import { clientSdp } from '../../tools/lib/media.js';
import { waitUntil } from '../helpers/wait.js';
import { startHarness, testConfig, type Harness } from './harness.js';

const IP = '127.0.30.1';
const CLIENT = '127.0.30.2';

describe('sip/layers', function () {
  this.timeout(15_000);
  let h: Harness | null = null;
  const closers: (() => void)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) c();
    await h?.close();
    h = null;
  });

  it('counts a request broken in a header once, as a transport drop, and still answers it 400', async () => {
    h = await startHarness(testConfig(IP));
    const sock = dgram.createSocket('udp4');
    closers.push(() => { sock.close(); });
    await new Promise<void>((resolve) => sock.bind(0, CLIENT, resolve));
    const answer = new Promise<string>((resolve) => { sock.once('message', (b) => resolve(b.toString())); });
    const port = sock.address().port;
    // CSeq method differs from the request method: the parser refuses it but Via/Call-ID are readable.
    sock.send([
      `OPTIONS sip:${IP} SIP/2.0`, `Via: SIP/2.0/UDP ${CLIENT}:${port};branch=z9hG4bKlayers1;rport`, 'Max-Forwards: 70',
      `From: <sip:a@${CLIENT}>;tag=1`, `To: <sip:${IP}>`, 'Call-ID: layers-1', 'CSeq: 1 INVITE', 'Content-Length: 0', '', '',
    ].join('\r\n'), 5060, IP);
    expect(await answer).to.match(/^SIP\/2\.0 400 /);
    const st = h.sip.stats();
    const drops = Object.entries(st).filter(([k]) => k.startsWith('drop_'));
    expect(drops).to.have.length(1);
    expect(drops[0]?.[1]).to.equal(1);
    expect(st.parse_drops).to.equal(1);
  });

  it('a 2xx the transport cannot send (TCP connection gone) is a transport error: the dialog and participant end at once', async () => {
    // The 2xx is held back 400 ms (test hook) so that the caller can hang up its connection first.
    h = await startHarness(testConfig(IP, { sipTransports: ['tcp'] }), { answerDelayMs: 400 });
    const s = net.connect({ host: IP, port: 5060, localAddress: CLIENT });
    closers.push(() => { s.destroy(); });
    s.on('error', () => undefined);
    await new Promise<void>((resolve) => s.once('connect', resolve));
    let received = '';
    const trying = new Promise<void>((resolve) => {
      s.on('data', (b: Buffer) => { received += b.toString(); if (received.includes('100 Trying')) resolve(); });
    });
    const body = clientSdp(CLIENT, 40000, 0x3030, 'layers');
    s.write([
      `INVITE sip:layers@${IP} SIP/2.0`, `Via: SIP/2.0/TCP ${CLIENT}:${s.localPort ?? 0};branch=z9hG4bKlayers2`, 'Max-Forwards: 70',
      `From: <sip:caller@${CLIENT}>;tag=c1`, `To: <sip:layers@${IP}>`, 'Call-ID: layers-2', 'CSeq: 1 INVITE',
      `Contact: <sip:caller@${CLIENT}:${s.localPort ?? 0};transport=tcp>`, 'Content-Type: application/sdp',
      `Content-Length: ${Buffer.byteLength(body)}`, '', body,
    ].join('\r\n'));
    await trying;
    expect(h.joined).to.have.length(1);
    s.destroy();
    const harness = h;
    const removed = await waitUntil(() => harness.removed[0], 5000, 'the participant to leave');
    expect(removed.reason).to.equal('error');
    expect(received).to.not.include('200 OK');
    const st = await waitUntil(() => { const x = harness.sip.stats(); return x.client_transactions === 0 && x.server_transactions === 0 ? x : false; }, 5000, 'the transactions to end');
    expect(st.dialogs).to.equal(0);
    expect(st.transport_errors).to.equal(1);
    // Our BYE cannot go out on the closed connection either: a transport error of its client transaction (503).
    expect(st.bye_send_failed).to.equal(1);
    expect(st.bye_final_503).to.equal(1);
  });
});
