/**
 * SIP responses by code and authentication failures in /metrics, from a real
 * SIP front end and core in-process (127.0.5.3) driven by our SIP client.
 */
import { expect } from 'chai';
import { clientSdp } from '../../tools/lib/media.js';
import { SipUdpClient } from '../../tools/lib/sip-client.js';
import { parsePrometheusText, promValue } from '../helpers/prom-text.js';
import { opsConfig, startOpsStack, type OpsStack } from './harness.js';

const ADDR = '127.0.5.3';

describe('ops: SIP metrics', function () {
  this.timeout(30_000);
  let stack: OpsStack | undefined;
  const clients: SipUdpClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await stack?.close();
    stack = undefined;
  });

  it('counts SIP responses by status code and authentication failures', async () => {
    const config = opsConfig(ADDR, { sipAuth: true, sipUsers: [{ name: 'alice', password: 'right' }] });
    stack = await startOpsStack(config, { sip: true });

    const probe = new SipUdpClient({ localAddress: '127.0.5.31', server: ADDR, serverPort: config.sipPort });
    clients.push(probe);
    await probe.bind();
    expect((await probe.options()).status).to.equal(200);
    const intruder = new SipUdpClient({ localAddress: '127.0.5.32', server: ADDR, serverPort: config.sipPort, user: 'alice', password: 'wrong' });
    clients.push(intruder);
    await intruder.bind();
    const res = await intruder.invite('metrics room', clientSdp('127.0.5.32', 40000, 0x1234, 'intruder'));
    expect(res.statuses).to.deep.equal([401, 403]);

    const text = await (await fetch(`${stack.base}/metrics`)).text();
    const fams = parsePrometheusText(text);
    expect(promValue(fams, 'reflector_sip_responses_total', { code: '200' })).to.be.at.least(1);
    expect(promValue(fams, 'reflector_sip_responses_total', { code: '401' })).to.be.at.least(1);
    expect(promValue(fams, 'reflector_sip_responses_total', { code: '403' })).to.be.at.least(1);
    expect(promValue(fams, 'reflector_sip_auth_failures_total')).to.be.at.least(1);
  });
});
