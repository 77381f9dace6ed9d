/**
 * SIP responses by code and authentication failures in /metrics, from a real
 * SIP front end and core in-process (127.0.5.3) driven by our SIP client.
 */
import { expect } from 'chai';
import { defaultConfig } from '../../src/config/defaults.js';
import { createOps, type Ops } from '../../src/ops/index.js';
import type { ReflectorCore } from '../../src/reflector/api.js';
import { createReflectorCore } from '../../src/reflector/index.js';
import type { Component } from '../../src/runtime/component.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { createSipFrontEnd } from '../../src/sip/index.js';
import { clientSdp } from '../../tools/lib/media.js';
import { SipUdpClient } from '../../tools/lib/sip-client.js';
import { parsePrometheusText, promValue } from '../helpers/prom-text.js';

const ADDR = '127.0.5.3';

describe('ops: SIP metrics', function () {
  this.timeout(30_000);
  let core: ReflectorCore & Component;
  let sip: Component & { stats(): Record<string, number> };
  let ops: Ops;
  const clients: SipUdpClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await ops?.close();
    await sip?.close();
    await core?.close();
  });

  it('counts SIP responses by status code and authentication failures', async () => {
    const config = {
      ...defaultConfig(), listenAddress: ADDR, publicAddress: ADDR, statusListen: { address: ADDR, port: 0 },
      sipAuth: true, sipUsers: [{ name: 'alice', password: 'right' }], peers: [],
    };
    core = createReflectorCore({ config, logger: silentLogger() });
    await core.start();
    sip = createSipFrontEnd({ config, logger: silentLogger(), core });
    await sip.start();
    ops = createOps({ config, logger: silentLogger(), core, interconnect: null, sip, proxy: null, mixer: null });
    await ops.start();

    const probe = new SipUdpClient({ localAddress: '127.0.5.31', server: ADDR, serverPort: config.sipPort });
    clients.push(probe);
    await probe.bind();
    expect((await probe.options()).status).to.equal(200);
    const intruder = new SipUdpClient({ localAddress: '127.0.5.32', server: ADDR, serverPort: config.sipPort, user: 'alice', password: 'wrong' });
    clients.push(intruder);
    await intruder.bind();
    const res = await intruder.invite('metrics room', clientSdp('127.0.5.32', 40000, 0x1234, 'intruder'));
    expect(res.statuses).to.deep.equal([401, 403]);

    const text = await (await fetch(`http://${ADDR}:${ops.address()?.port}/metrics`)).text();
    const fams = parsePrometheusText(text);
    expect(promValue(fams, 'reflector_sip_responses_total', { code: '200' })).to.be.at.least(1);
    expect(promValue(fams, 'reflector_sip_responses_total', { code: '401' })).to.be.at.least(1);
    expect(promValue(fams, 'reflector_sip_responses_total', { code: '403' })).to.be.at.least(1);
    expect(promValue(fams, 'reflector_sip_auth_failures_total')).to.be.at.least(1);
  });
});
