/** SIP over TCP: idle connections are closed, the connection count is bounded, a framing violation closes the connection. */
import { expect } from 'chai';
import net from 'node:net';
import { startHarness, testConfig, type Harness } from './harness.js';

const IP = '127.0.2.80';

function connect(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: IP, port: 5060, localAddress: '127.0.2.180' });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

function closed(s: net.Socket, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (s.destroyed) { resolve(true); return; }
    const t = setTimeout(() => resolve(false), timeoutMs);
    s.once('close', () => { clearTimeout(t); resolve(true); });
    s.on('error', () => undefined);
  });
}

describe('sip/transport over TCP', function () {
  this.timeout(10_000);
  let h: Harness | null = null;
  const socks: net.Socket[] = [];
  afterEach(async () => {
    for (const s of socks.splice(0)) s.destroy();
    await h?.close();
    h = null;
  });

  it('closes an idle connection after the idle timeout', async () => {
    h = await startHarness(testConfig(IP, { sipTransports: ['tcp'] }), {}, { idleTimeoutMs: 300 });
    const s = await connect();
    socks.push(s);
    expect(await closed(s, 3000)).to.equal(true);
    expect(h.sip.stats().drop_sip_tcp_idle).to.equal(1);
  });

  it('refuses connections beyond the bound', async () => {
    h = await startHarness(testConfig(IP, { sipTransports: ['tcp'] }), {}, { maxConnections: 2 });
    const a = await connect();
    const b = await connect();
    const c = await connect();
    socks.push(a, b, c);
    expect(await closed(c, 3000)).to.equal(true);
    expect(await closed(a, 200)).to.equal(false);
    // Refused by TCP admission (runtime/tcp-admission.ts): the port is full for unknown sources.
    expect(h.sip.stats().drop_sip_tcp_full).to.equal(1);
  });

  it('closes the connection on a framing violation (no Content-Length)', async () => {
    h = await startHarness(testConfig(IP, { sipTransports: ['tcp'] }));
    const s = await connect();
    socks.push(s);
    s.write(`OPTIONS sip:${IP} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.2.180:5090;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n`);
    expect(await closed(s, 3000)).to.equal(true);
    expect(h.sip.stats().drop_sip_missing_content_length).to.equal(1);
  });
});
