/** SIGTERM on a real reflector process: every SIP participant gets a BYE, then the process exits 0 (SPEC §2). */
import { expect } from 'chai';
import { baseConfig, startReflector, type ReflectorProcess } from '../helpers/reflector-process.js';
import { clientSdp } from '../../tools/lib/media.js';
import { SipUdpClient } from '../../tools/lib/sip-client.js';

const IP = '127.0.2.70';

describe('sip: graceful shutdown sends BYE', function () {
  this.timeout(20_000);
  let refl: ReflectorProcess | null = null;
  const clients: SipUdpClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await refl?.stop();
    refl = null;
  });

  it('SIGTERM ends each dialog with a BYE and exits 0', async () => {
    refl = await startReflector({ config: baseConfig(IP) });
    for (const ip of ['127.0.2.170', '127.0.2.171']) {
      const c = new SipUdpClient({ localAddress: ip, server: IP, serverPort: 5060 });
      clients.push(c);
      await c.bind();
      const r = await c.invite('closing time', clientSdp(ip, 40000, 5, 'c'));
      expect(r.status).to.equal(200);
    }
    const byes = Promise.all(clients.map((c) => new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no BYE from the reflector')), 8000);
      c.once('bye', () => { clearTimeout(t); resolve(); });
    })));
    const proc = refl;
    proc.signal('SIGTERM');
    await byes;
    expect(clients.every((c) => c.remoteBye)).to.equal(true);
    expect(await proc.exited(), proc.output().slice(-3000)).to.equal(0);
  });
});
