/**
 * Hold in mix mode with the real core and mixer on loopback: a re-INVITE to sendonly or inactive
 * (core.update) stops the mixed stream at once — the mixer follows the core's participant-updated
 * event, and the core refuses RTP to a stream that does not receive — and resume brings it back.
 */
import { expect } from 'chai';
import { afterEach, describe, it } from 'mocha';
import { createMixer, type Mixer } from '../../src/mixer/index.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { waitUntil } from '../helpers/wait.js';
import { codec, startCore, type TestClient, type TestCore, useTestClients } from '../reflector/fixture.js';

const CORE_IP = '127.0.80.2';
const AUDIO = 5566;
const PCMU = codec('PCMU', 0, 0);

function mixed(c: TestClient): number {
  return c.rtp.all.filter((r) => r.rinfo.address === CORE_IP && r.rinfo.port === AUDIO).length;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('mix mode hold: the mixed stream stops at once', () => {
  let core: TestCore | null = null;
  let mixer: Mixer | null = null;
  const { client } = useTestClients();

  afterEach(async () => {
    await mixer?.close();
    mixer = null;
    await core?.close();
    core = null;
  });

  for (const direction of ['sendonly', 'inactive'] as const) {
    it(`${direction}: no mixed packet after the update (beyond those already in flight), resumed by sendrecv`, async () => {
      const started = await startCore(CORE_IP);
      core = started.core;
      mixer = createMixer({ config: started.config, logger: silentLogger(), core });
      await mixer.start();
      const a = await client('127.0.80.30');
      const m = await client('127.0.80.31');
      a.join(core, 'hold', [a.stream({ codecs: [PCMU] })], { mode: 'mix' });
      m.join(core, 'hold', [m.stream({ codecs: [PCMU] })], { mode: 'mix' });
      await waitUntil(() => mixed(m) >= 10, 5000, 'mixed stream');

      core.update(m.id, [m.stream({ codecs: [PCMU], direction })]);
      expect(mixer.stats().mixer_outputs).to.equal(1, 'the held phone\'s output is gone at once (the event, not the 2 s refresh)');
      // Datagrams already handed to the kernel may still arrive; give them 50 ms, then nothing more.
      await pause(50);
      const atHold = mixed(m);
      await pause(600);
      expect(mixed(m)).to.equal(atHold, 'mixed packets after hold');
      expect(mixed(a)).to.be.greaterThan(20, 'the other phone still gets its stream');

      core.update(m.id, [m.stream({ codecs: [PCMU], direction: 'sendrecv' })]);
      await waitUntil(() => mixed(m) >= atHold + 5, 5000, 'mixed stream after resume');
    });
  }
});
