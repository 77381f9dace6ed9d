import { expect } from 'chai';
import { connect } from 'node:net';
import { afterEach, describe, it } from 'mocha';
import { withTimeout } from '../helpers/udp.js';
import { CheckIpServer } from '../../src/reflector/checkip-server.js';
import { startCore, WAIT_MS, type TestCore } from './fixture.js';

const CORE_IP = '127.0.1.6';
const CHECKIP = 12340;

function checkIp(localAddress: string, host = CORE_IP, port = CHECKIP): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const s = connect({ host, port, localAddress });
      s.on('data', (d: Buffer) => chunks.push(d));
      s.on('error', reject);
      s.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    }),
    WAIT_MS,
    'check-ip answer and close',
  );
}

describe('reflector core: check-ip', () => {
  let core: TestCore | null = null;
  let server: CheckIpServer | null = null;

  afterEach(async () => {
    await core?.close();
    core = null;
    await server?.close();
    server = null;
  });

  it('writes the client IP, no port, then a newline, and closes', async () => {
    ({ core } = await startCore(CORE_IP));
    expect(await checkIp('127.0.1.180')).to.equal('127.0.1.180\n');
    expect(await checkIp('127.0.1.181')).to.equal('127.0.1.181\n');
  });

  it('prints IPv6 without brackets, and an IPv4 client of a dual-stack listener as plain IPv4', async () => {
    server = new CheckIpServer();
    // Port 0 on the wildcard: no clash with anyone's fixed ports.
    await server.listen('::', 0);
    expect(await checkIp('::1', '::1', server.port())).to.equal('::1\n');
    expect(await checkIp('127.0.1.182', '127.0.1.182', server.port())).to.equal('127.0.1.182\n');
  });
});
