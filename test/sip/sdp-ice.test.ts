/** ICE-lite (RFC 8839) and rtcp-mux (RFC 5761) in the SDP answer (SPEC §16). */
import { expect } from 'chai';
import * as sdpTransform from 'sdp-transform';
import { negotiate, sdpForStreams, type NegotiationInput } from '../../src/sip/uas/sdp-negotiate.js';

// The offer of linphonec 5.1 with ICE and TURN (its relay candidate is the m=/c= default).
const ICE_OFFER = [
  'v=0', 'o=alice 3176 2428 IN IP4 192.0.2.10', 's=Talk', 'c=IN IP4 192.0.2.10', 't=0 0',
  'a=ice-pwd:3275579f644f8a7840ed09db', 'a=ice-ufrag:1b9bc4dd',
  'm=audio 49171 RTP/AVP 0 96', 'c=IN IP4 203.0.113.20', 'a=rtpmap:96 telephone-event/8000', 'a=rtcp:49157',
  'a=candidate:1 1 UDP 2130706303 192.0.2.10 7078 typ host',
  'a=candidate:1 2 UDP 2130706302 192.0.2.10 7079 typ host',
  'a=candidate:3 1 UDP 16777087 203.0.113.20 49171 typ relay raddr 192.0.2.10 rport 7078',
  'a=candidate:3 2 UDP 16777086 203.0.113.20 49157 typ relay raddr 192.0.2.10 rport 7079',
  'm=video 49200 RTP/AVP 96', 'a=rtpmap:96 VP8/90000', 'a=rtcp-mux',
  '',
].join('\r\n');
const PLAIN_OFFER = ['v=0', 'o=bob 1 1 IN IP4 203.0.113.30', 's=-', 'c=IN IP4 203.0.113.30', 't=0 0', 'm=audio 4000 RTP/AVP 0', ''].join('\r\n');

function input(offer: string, over: Partial<NegotiationInput> = {}): NegotiationInput {
  return {
    offer, mode: 'reflect', publicAddress: '203.0.113.10', audioPort: 5566, videoPort: 5568,
    audioCodecs: ['PCMU', 'telephone-event'], videoCodecs: ['VP8'], sessionCodecs: () => [],
    sessionId: 4242, sessionVersion: 1, ice: true, ...over,
  };
}

function ok(r: ReturnType<typeof negotiate>): Extract<ReturnType<typeof negotiate>, { ok: true }> {
  if (!r.ok) throw new Error(`negotiation failed: ${r.status} ${r.reason}`);
  return r;
}

describe('sip: ICE-lite and rtcp-mux in the SDP answer', () => {
  it('answers an ICE offer with a=ice-lite, our ufrag/pwd and a host candidate per media port; c=/m= as without ICE', () => {
    const r = ok(negotiate(input(ICE_OFFER)));
    const a = sdpTransform.parse(r.answer);
    expect(a.icelite).to.equal('ice-lite');
    expect(a.iceUfrag).to.match(/^[A-Za-z0-9+/]{8}$/);
    expect(a.icePwd).to.match(/^[A-Za-z0-9+/]{24}$/);
    expect(a.connection?.ip).to.equal('203.0.113.10');
    const [audio, video] = a.media;
    expect(audio.port).to.equal(5566);
    expect(audio.rtcp?.port).to.equal(5567);
    expect(audio.rtcpMux).to.equal(undefined);
    expect(audio.candidates).to.deep.equal([
      { foundation: 1, component: 1, transport: 'UDP', priority: 2130706431, ip: '203.0.113.10', port: 5566, type: 'host' },
      { foundation: 1, component: 2, transport: 'UDP', priority: 2130706430, ip: '203.0.113.10', port: 5567, type: 'host' },
    ]);
    // Video offered rtcp-mux: accepted, one candidate, a=rtcp names the RTP port.
    expect(video.port).to.equal(5568);
    expect(video.rtcpMux).to.equal('rtcp-mux');
    expect(video.rtcp?.port).to.equal(5568);
    expect(video.candidates?.map((c) => [c.component, c.port])).to.deep.equal([[1, 5568]]);
    // The core gets the credentials and the offerer's ufrag; its SDP address stays the offer's default.
    expect(r.streams[0].ice).to.deep.equal({ ufrag: a.iceUfrag, pwd: a.icePwd, remoteUfrag: '1b9bc4dd' });
    expect(r.streams[0].address).to.equal('203.0.113.20');
    expect(r.streams[0].rtcpMux).to.equal(undefined);
    expect(r.streams[1].rtcpMux).to.equal(true);
    expect(r.streams[1].rtcpPort).to.equal(49200);
  });

  it('keeps the same credentials for a dialog (re-INVITE answer, our own re-offer) and uses other ones for another dialog', () => {
    const first = ok(negotiate(input(ICE_OFFER)));
    const again = ok(negotiate(input(ICE_OFFER, { sessionVersion: 2 })));
    const other = ok(negotiate(input(ICE_OFFER, { sessionId: 4243 })));
    const creds = (s: string): [unknown, unknown] => { const p = sdpTransform.parse(s); return [p.iceUfrag, p.icePwd]; };
    expect(creds(again.answer)).to.deep.equal(creds(first.answer));
    expect(creds(other.answer)[0]).to.not.equal(creds(first.answer)[0]);
    const reoffer = sdpTransform.parse(sdpForStreams({ publicAddress: '203.0.113.10', audioPort: 5566, videoPort: 5568, sessionId: 4242, sessionVersion: 3 }, first.streams));
    expect([reoffer.iceUfrag, reoffer.icePwd]).to.deep.equal(creds(first.answer));
    expect(reoffer.icelite).to.equal('ice-lite');
    expect(reoffer.media[1].rtcpMux).to.equal('rtcp-mux');
  });

  it('an offer that restarts ICE (new ufrag and pwd) gets new credentials of ours (RFC 8839 §4.4.1.1.2)', () => {
    const first = ok(negotiate(input(ICE_OFFER)));
    const restart = ok(negotiate(input(ICE_OFFER.replace('1b9bc4dd', 'f00dcafe').replace('3275579f644f8a7840ed09db', '0123456789abcdef01234567'), { sessionVersion: 2 })));
    const a = sdpTransform.parse(first.answer);
    const b = sdpTransform.parse(restart.answer);
    expect(b.iceUfrag).to.not.equal(a.iceUfrag);
    expect(b.icePwd).to.not.equal(a.icePwd);
    expect(restart.streams[0].ice).to.deep.equal({ ufrag: b.iceUfrag, pwd: b.icePwd, remoteUfrag: 'f00dcafe' });
  });

  it('answers a client without ICE exactly as with ICE off', () => {
    const on = ok(negotiate(input(PLAIN_OFFER)));
    const off = ok(negotiate(input(PLAIN_OFFER, { ice: false })));
    expect(on.answer).to.equal(off.answer);
    expect(on.answer).to.not.match(/ice|candidate|rtcp-mux/);
    expect(on.answer).to.contain('a=rtcp:5567');
    expect(on.streams).to.deep.equal(off.streams);
  });

  it('ICE off: an ICE offer is answered without ICE attributes (rtcp-mux still when offered)', () => {
    const r = ok(negotiate(input(ICE_OFFER, { ice: false })));
    expect(r.answer).to.not.match(/a=ice|a=candidate/);
    expect(r.answer).to.contain('a=rtcp-mux');
    expect(r.streams.every((s) => s.ice === undefined)).to.equal(true);
  });

  it('ignores ICE credentials that RFC 8839 forbids (short pwd, bad characters)', () => {
    for (const bad of [ICE_OFFER.replace('3275579f644f8a7840ed09db', 'short'), ICE_OFFER.replace('1b9bc4dd', '1b9b;c4dd')]) {
      const r = ok(negotiate(input(bad)));
      expect(r.answer).to.not.match(/a=ice|a=candidate/);
    }
  });
});
