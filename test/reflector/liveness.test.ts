import { expect } from 'chai';
import { afterEach, describe, it } from 'mocha';
import type { LeaveReason } from '../../src/reflector/api.js';
import { withTimeout } from '../helpers/udp.js';
import { coreConfig, rtcpBye, rtcpRr, rtpPacket, startCore, WAIT_MS, type TestCore, useTestClients } from './fixture.js';

const CORE_IP = '127.0.1.2';
const AUDIO = 5566;
const VIDEO = 5568;

function removed(core: TestCore, id: string, timeoutMs: number): Promise<LeaveReason> {
  return withTimeout(
    new Promise<LeaveReason>((resolve) => {
      const on = (who: string, _s: string, reason: LeaveReason): void => {
        if (who !== id) return;
        core.events.off('participant-removed', on);
        resolve(reason);
      };
      core.events.on('participant-removed', on);
    }),
    timeoutMs,
    `removal of ${id}`,
  );
}

describe('reflector core: liveness', () => {
  let core: TestCore | null = null;
  const { client } = useTestClients();

  afterEach(async () => {
    await core?.close();
    core = null;
  });

  it('removes a participant after INACTIVITY_TIMEOUT without RTP, RTCP or keep-alive, and keeps an active one', async () => {
    ({ core } = await startCore(CORE_IP, { inactivityTimeoutS: 1 }));
    const silent = await client('127.0.1.130');
    const talker = await client('127.0.1.131');
    silent.join(core, 'quiet');
    talker.join(core, 'quiet');
    const t0 = Date.now();
    const gone = removed(core, silent.id, 4000);
    // The talker sends every 200 ms until the silent one is gone (bounded by the wait above).
    let seq = 0;
    let stop = false;
    const pump = (async () => {
      while (!stop && seq < 50) {
        await talker.rtp.send(rtpPacket(0x7a1, seq++), AUDIO, CORE_IP);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    try {
      expect(await gone).to.equal('timeout');
    } finally {
      stop = true;
      await pump;
    }
    expect(Date.now() - t0).to.be.at.least(900);
    expect(core.has(silent.id)).to.equal(false);
    expect(core.has(talker.id)).to.equal(true);
    expect(core.participantIds('quiet')).to.deep.equal([talker.id]);
  });

  it('removes a participant when all of its known SSRCs sent RTCP BYE, after forwarding the BYE', async () => {
    ({ core } = await startCore(CORE_IP));
    const a = await client('127.0.1.132');
    const b = await client('127.0.1.133');
    const video = await client('127.0.1.132');
    a.join(core, 'byes', [a.stream({ ssrcs: [0xa0] }), video.stream({ medium: 'video', ssrcs: [0xa1], codecs: [{ canonicalPt: 96, participantPt: 96, name: 'H264', clockRateHz: 90000, channels: 1 }] })]);
    b.join(core, 'byes');
    // BYE for the audio SSRC only: a stays (its video SSRC has not said BYE).
    await a.rtcp.send(rtcpBye([0xa0]), AUDIO + 1, CORE_IP);
    const fwd = await b.rtcp.nextMessage(WAIT_MS);
    expect(fwd.msg[1]).to.equal(203);
    expect(core.has(a.id)).to.equal(true);
    const gone = removed(core, a.id, WAIT_MS);
    await video.rtcp.send(rtcpBye([0xa1]), VIDEO + 1, CORE_IP);
    expect(await gone).to.equal('rtcp_bye');
    expect(core.has(b.id)).to.equal(true);
  });

  it('records SDES CNAME and NAME and the time of the last RTCP', async () => {
    ({ core } = await startCore(CORE_IP));
    const a = await client('127.0.1.134');
    const b = await client('127.0.1.135');
    a.join(core, 'names');
    b.join(core, 'names');
    const cname = Buffer.from('alice@example');
    const name = Buffer.from('Alice Ö');
    const items = Buffer.concat([Buffer.from([1, cname.length]), cname, Buffer.from([2, name.length]), name, Buffer.from([0])]);
    const padded = Buffer.concat([items, Buffer.alloc((4 - ((4 + items.length) % 4)) % 4)]);
    const sdes = Buffer.alloc(8 + padded.length);
    sdes[0] = 0x81;
    sdes[1] = 202;
    sdes.writeUInt16BE((8 + padded.length) / 4 - 1, 2);
    sdes.writeUInt32BE(0xa5, 4);
    padded.copy(sdes, 8);
    await a.rtcp.send(Buffer.concat([rtcpRr(0xa5), sdes]), AUDIO + 1, CORE_IP);
    const got = await b.rtcp.nextMessage(WAIT_MS);
    expect(got.msg.length).to.equal(8 + sdes.length);
    const p = core.snapshot()[0].participants.find((x) => x.id === a.id);
    expect(p?.cname).to.equal('alice@example');
    expect(p?.sdesName).to.equal('Alice Ö');
    expect(p?.lastRtcpAt).to.be.a('number');
  });

  it('applies new limits and timeouts on reload without dropping participants', async () => {
    let config;
    ({ core, config } = await startCore(CORE_IP));
    const a = await client('127.0.1.136');
    const b = await client('127.0.1.137');
    a.join(core, 'r');
    b.join(core, 'r');
    core.reload({ ...coreConfig(CORE_IP), ...config, maxParticipantsPerSession: 2, inactivityTimeoutS: 1 });
    expect(core.has(a.id) && core.has(b.id)).to.equal(true);
    expect(() => core?.checkAdmission('r')).to.throw().with.property('code', 'session_full');
    // The shortened timeout now applies to both.
    await removed(core, a.id, 4000);
  });
});
