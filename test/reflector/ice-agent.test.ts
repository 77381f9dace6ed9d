/** The ICE-lite responder on its own (SPEC §16): what it accepts, and that no input makes it throw or accept a forgery. */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { StreamSpec } from '../../src/reflector/api.js';
import { IceDrop, IceResponder } from '../../src/reflector/ice-agent.js';
import { FLOW_AUDIO_RTCP, FLOW_AUDIO_RTP, FLOW_VIDEO_RTP } from '../../src/reflector/media-kind.js';
import { ParticipantState, StreamState } from '../../src/reflector/participant.js';
import { SessionState } from '../../src/reflector/session.js';
import { encodeIceCheck, readXorMappedAddress, StunDrop } from '../../src/rtp/stun.js';
import { FUZZ_COUNT, forEachFuzzInput } from '../rtp/fuzz.js';
import { PCMU } from './fixture.js';

const ICE = { ufrag: 'Rf1x', pwd: 'reflectorPasswordOf24ch', remoteUfrag: 'cLnT' };

function participant(id: string, ice = ICE, rtcpMux = false): ParticipantState {
  const session = new SessionState('s', Date.now());
  const p = new ParticipantState(id, session, { mode: 'reflect', signalingAddress: '192.0.2.10', now: Date.now() });
  const spec: StreamSpec = { medium: 'audio', address: '192.0.2.10', rtpPort: 7078, rtcpPort: 7079, direction: 'sendrecv', ssrcs: [], codecs: [PCMU], ice, rtcpMux };
  p.streams[0] = new StreamState(p, spec, false);
  return p;
}

const check = (useCandidate = true, password = ICE.pwd, username = `${ICE.ufrag}:${ICE.remoteUfrag}`): Buffer =>
  encodeIceCheck({ transactionId: randomBytes(12), username, password, useCandidate });

describe('reflector: IceResponder', () => {
  it('accepts a check for the participant of the ufrag, nominated or not, with a response to the source', () => {
    const r = new IceResponder();
    const p = participant('a');
    r.add(p);
    const res = r.check(FLOW_AUDIO_RTP, check(true), '203.0.113.20', 49171);
    expect(res?.stream).to.equal(p.streams[0]);
    expect(res?.nominated).to.equal(true);
    expect(readXorMappedAddress(res?.response ?? Buffer.alloc(0))).to.deep.equal({ family: 4, address: '203.0.113.20', port: 49171 });
    expect(r.check(FLOW_AUDIO_RTCP, check(false), '203.0.113.20', 49172)?.nominated).to.equal(false);
  });

  it('refuses a medium the participant lacks, component 2 with rtcp-mux, a removed participant', () => {
    const r = new IceResponder();
    const p = participant('a');
    r.add(p);
    expect(r.check(FLOW_VIDEO_RTP, check(), '203.0.113.20', 1)).to.equal(null);
    expect(r.lastDrop).to.equal(IceDrop.NoStream);
    r.remove(p);
    expect(r.check(FLOW_AUDIO_RTP, check(), '203.0.113.20', 1)).to.equal(null);
    expect(r.lastDrop).to.equal(IceDrop.UnknownUfrag);
    const m = participant('m', ICE, true);
    r.add(m);
    expect(r.check(FLOW_AUDIO_RTCP, check(), '203.0.113.20', 1)).to.equal(null);
    expect(r.lastDrop).to.equal(IceDrop.NoStream);
  });

  it('a ufrag already in use is not taken over by another participant', () => {
    const r = new IceResponder();
    const a = participant('a');
    const b = participant('b', { ...ICE, pwd: 'anotherPasswordOf24chars' });
    r.add(a);
    r.add(b);
    expect(r.check(FLOW_AUDIO_RTP, check(), '203.0.113.20', 1)?.stream?.participant).to.equal(a);
    expect(r.check(FLOW_AUDIO_RTP, check(true, 'anotherPasswordOf24chars'), '203.0.113.20', 1)).to.equal(null);
    expect(r.lastDrop).to.equal(IceDrop.BadIntegrity);
    r.remove(b);
    expect(r.size).to.equal(1);
  });

  it('every ICE and STUN drop reason is snake_case and documented in docs/protocol.md', () => {
    const doc = readFileSync(fileURLToPath(new URL('../../../docs/protocol.md', import.meta.url)), 'utf8');
    for (const reason of [...Object.values(IceDrop), ...Object.values(StunDrop)]) {
      expect(reason).to.match(/^(ice|stun)_[a-z0-9_]+$/);
      expect(doc.includes(`\`${reason}\``), reason).to.equal(true);
    }
  });

  it(`never throws and never accepts a mutated check (${FUZZ_COUNT} inputs)`, function () {
    this.timeout(60_000);
    const r = new IceResponder();
    r.add(participant('a'));
    const seeds = [check(true), check(false)];
    let accepted = 0;
    forEachFuzzInput(0x1ce1ce, FUZZ_COUNT, seeds, (buf) => {
      const res = r.check(FLOW_AUDIO_RTP, buf, '203.0.113.20', 49171);
      if (res !== null) {
        // Only an untouched check may pass (a truncation to its full length is untouched).
        expect(seeds.some((s) => s.equals(buf)), buf.toString('hex')).to.equal(true);
        accepted++;
      }
    });
    expect(accepted).to.be.greaterThan(0);
  });
});
