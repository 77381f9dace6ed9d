/** SDP offer/answer for the reflector (SPEC §4). */
import { expect } from 'chai';
import * as sdpTransform from 'sdp-transform';
import type { Medium, SessionCodec } from '../../src/reflector/api.js';
import { negotiate, sdpForStreams, type NegotiationInput } from '../../src/sip/uas/sdp-negotiate.js';

function offer(media: string[], c = '127.0.2.50'): string {
  return ['v=0', `o=- 1 1 IN IP4 ${c}`, 's=-', `c=IN IP4 ${c}`, 't=0 0', ...media, ''].join('\r\n');
}

function input(sdp: string, table: Partial<Record<Medium, SessionCodec[]>> = {}, extra: Partial<NegotiationInput> = {}): NegotiationInput {
  return {
    offer: sdp, mode: 'reflect', publicAddress: '127.0.2.1', audioPort: 5566, videoPort: 5568,
    audioCodecs: ['PCMU', 'PCMA', 'G722', 'opus', 'telephone-event'], videoCodecs: ['H264', 'VP8', 'VP9'],
    sessionCodecs: (m) => table[m] ?? [], sessionId: 42, sessionVersion: 1, ...extra,
  };
}

describe('sip/sdp-negotiate', () => {
  it('answers at the public address and shared ports with a=rtcp, in the offer\'s m-line order', () => {
    const r = negotiate(input(offer(['m=audio 40000 RTP/AVP 0 8', 'a=rtcp:40005', 'm=video 40002 RTP/AVP 96', 'a=rtpmap:96 VP8/90000'])));
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    const a = sdpTransform.parse(r.answer);
    expect(a.connection?.ip).to.equal('127.0.2.1');
    expect(a.media.map((m) => [m.type, m.port, m.rtcp?.port])).to.deep.equal([['audio', 5566, 5567], ['video', 5568, 5569]]);
    expect(r.streams.map((s) => [s.medium, s.address, s.rtpPort, s.rtcpPort])).to.deep.equal([['audio', '127.0.2.50', 40000, 40005], ['video', '127.0.2.50', 40002, 40003]]);
  });
  it('intersects offered and allowed codecs and puts the session\'s codec first', () => {
    const table = { audio: [{ pt: 8, name: 'PCMA', clockRateHz: 8000, channels: 1 }] };
    const r = negotiate(input(offer(['m=audio 40000 RTP/AVP 18 0 8', 'a=rtpmap:18 G729/8000']), table));
    expect(r.ok && r.streams[0]?.codecs.map((c) => c.name)).to.deep.equal(['PCMA', 'PCMU']);
    expect(r.ok && sdpTransform.parse(r.answer).media[0]?.payloads).to.equal('8 0');
  });
  it('answers with the offerer\'s PT numbers (RFC 3264 §6.1) and keeps the session\'s canonical number internal', () => {
    const table = { audio: [{ pt: 96, name: 'opus', clockRateHz: 48000, channels: 2 }] };
    const r = negotiate(input(offer(['m=audio 40000 RTP/AVP 111 101', 'a=rtpmap:111 opus/48000/2', 'a=fmtp:111 useinbandfec=1', 'a=rtpmap:101 telephone-event/8000']), table));
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    expect(r.streams[0]?.codecs.map((c) => [c.name, c.canonicalPt, c.participantPt])).to.deep.equal([['opus', 96, 111], ['telephone-event', 101, 101]]);
    const m = sdpTransform.parse(r.answer).media[0];
    expect(m?.rtp.map((x) => [x.payload, x.codec, x.rate, x.encoding])).to.deep.equal([[111, 'opus', 48000, 2], [101, 'telephone-event', 8000, undefined]]);
    expect(m?.fmtp).to.deep.equal([{ payload: 111, config: 'useinbandfec=1' }]);
  });
  it('never gives an offered number to another codec: 97 = speex/16000 offered, the session has 97 = telephone-event/16000', () => {
    const table = { audio: [
      { pt: 96, name: 'opus', clockRateHz: 48000, channels: 2 },
      { pt: 97, name: 'telephone-event', clockRateHz: 16000, channels: 1 },
      { pt: 0, name: 'PCMU', clockRateHz: 8000, channels: 1 },
    ] };
    const sdp = offer(['m=audio 40000 RTP/AVP 96 97 98 0 101 99 100', 'a=rtpmap:96 opus/48000/2', 'a=rtpmap:97 speex/16000', 'a=rtpmap:98 speex/8000',
      'a=rtpmap:101 telephone-event/48000', 'a=rtpmap:99 telephone-event/16000', 'a=rtpmap:100 telephone-event/8000']);
    const offered = new Map([[0, 'PCMU/8000'], ...sdpTransform.parse(sdp).media[0].rtp.map((x) => [x.payload, `${x.codec}/${x.rate}`] as [number, string])]);
    for (const mode of ['reflect', 'mix'] as const) {
      const r = negotiate(input(sdp, table, { mode }));
      expect(r.ok).to.equal(true);
      if (!r.ok) return;
      const m = sdpTransform.parse(r.answer).media[0];
      for (const x of m.rtp) expect(`${x.codec}/${x.rate}`, `PT ${x.payload} in the ${mode} answer`).to.equal(offered.get(x.payload));
      // Reflect mode puts the session's codecs first, mix mode the configured preference.
      expect(m.payloads).to.equal(mode === 'reflect' ? '96 0 101 100' : '0 96 101 100', `${mode}: telephone-event only at the audio codecs' rates (48000, 8000), once each`);
      expect(r.streams[0].codecs.map((c) => [c.name, c.clockRateHz, c.participantPt]).sort()).to.deep.equal([
        ['PCMU', 8000, 0], ['opus', 48000, 96], ['telephone-event', 48000, 101], ['telephone-event', 8000, 100]]);
      expect(r.streams[0].codecs.find((c) => c.name === 'telephone-event' && c.clockRateHz === 8000)?.canonicalPt).to.not.equal(97);
    }
    // Only wideband telephone-event offered beside PCMU: one is kept.
    const one = negotiate(input(offer(['m=audio 40000 RTP/AVP 0 99 101', 'a=rtpmap:99 telephone-event/16000', 'a=rtpmap:101 telephone-event/48000'])));
    expect(one.ok && sdpTransform.parse(one.answer).media[0].payloads).to.equal('0 99');
  });
  it('offers the dialog\'s own numbers again in a re-INVITE without an offer', () => {
    const r = negotiate(input(offer(['m=audio 40000 RTP/AVP 111 0 110', 'a=rtpmap:111 opus/48000/2', 'a=rtpmap:110 telephone-event/48000'])));
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    const again = sdpTransform.parse(sdpForStreams({ publicAddress: '127.0.2.1', audioPort: 5566, videoPort: 5568, sessionId: 42, sessionVersion: 2 }, r.streams)).media[0];
    expect(again.rtp.map((x) => [x.payload, x.codec, x.rate, x.encoding])).to.deep.equal([[0, 'PCMU', 8000, undefined], [111, 'opus', 48000, 2], [110, 'telephone-event', 48000, undefined]]);
  });
  it('picks a free dynamic PT when the offered one is taken in the session by another codec', () => {
    const table = { video: [{ pt: 96, name: 'H264', clockRateHz: 90000, channels: 1 }] };
    const r = negotiate(input(offer(['m=video 40002 RTP/AVP 96', 'a=rtpmap:96 VP8/90000']), table));
    expect(r.ok && r.streams[0]?.codecs.map((c) => [c.name, c.canonicalPt, c.participantPt])).to.deep.equal([['VP8', 97, 96]]);
  });
  it('mirrors directions (sendonly → recvonly, recvonly → sendonly, inactive)', () => {
    for (const [d, mirrored] of [['sendonly', 'recvonly'], ['recvonly', 'sendonly'], ['inactive', 'inactive'], ['sendrecv', 'sendrecv']] as const) {
      const r = negotiate(input(offer(['m=audio 40000 RTP/AVP 0', `a=${d}`])));
      expect(r.ok && r.streams[0]?.direction).to.equal(d);
      expect(r.ok && sdpTransform.parse(r.answer).media[0]?.direction).to.equal(mirrored);
    }
  });
  it('rejects a stream without a common codec at port 0, and answers 488 when nothing is acceptable', () => {
    const r = negotiate(input(offer(['m=audio 40000 RTP/AVP 0', 'm=video 40002 RTP/AVP 98', 'a=rtpmap:98 AV1/90000'])));
    expect(r.ok).to.equal(true);
    if (r.ok) {
      expect(sdpTransform.parse(r.answer).media.map((m) => [m.type, m.port])).to.deep.equal([['audio', 5566], ['video', 0]]);
      expect(r.streams.map((s) => s.medium)).to.deep.equal(['audio']);
    }
    const none = negotiate(input(offer(['m=audio 40000 RTP/AVP 18', 'a=rtpmap:18 G729/8000'])));
    expect(none).to.deep.equal({ ok: false, status: 488, reason: 'No acceptable media stream' });
    expect(negotiate(input(offer(['m=audio 40000 RTP/AVP 101', 'a=rtpmap:101 telephone-event/8000']))).ok, 'telephone-event alone').to.equal(false);
    expect(negotiate(input(offer(['m=audio 40000 RTP/SAVP 0']))).ok, 'SRTP is not offered by the reflector').to.equal(false);
  });
  it('in mix mode accepts only codecs the mixer decodes, whatever the session uses', () => {
    // speex is allowed by the configuration and used by the session, but the mixer cannot decode it.
    const table = { audio: [{ pt: 96, name: 'speex', clockRateHz: 16000, channels: 1 }] };
    const r = negotiate(input(offer(['m=audio 40000 RTP/AVP 111 9', 'a=rtpmap:111 speex/16000']), table,
      { mode: 'mix', audioCodecs: ['PCMU', 'PCMA', 'G722', 'opus', 'speex', 'telephone-event'] }));
    expect(r.ok && r.streams[0]?.codecs.map((c) => c.name)).to.deep.equal(['G722']);
  });
  it('collects a=ssrc and rejects a second audio stream', () => {
    const r = negotiate(input(offer(['m=audio 40000 RTP/AVP 0', 'a=ssrc:1234 cname:x', 'a=ssrc:1234 msid:y', 'm=audio 40010 RTP/AVP 0'])));
    expect(r.ok && r.streams.map((s) => s.ssrcs)).to.deep.equal([[1234]]);
    expect(r.ok && sdpTransform.parse(r.answer).media.map((m) => m.port)).to.deep.equal([5566, 0]);
  });
  it('does not throw on garbage SDP', () => {
    for (const g of ['', 'garbage', 'v=0\r\nm=audio x RTP/AVP 0\r\n', 'm=audio 0 RTP/AVP\r\n', 'v=0\r\nm=audio 99999 RTP/AVP 0\r\nc=IN IP4 nonsense\r\n']) {
      expect(() => negotiate(input(g))).to.not.throw();
      expect(negotiate(input(g)).ok).to.equal(false);
    }
  });
});
