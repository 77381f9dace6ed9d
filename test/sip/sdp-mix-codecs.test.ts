/** Mix mode answers only codecs the mixer really decodes, at the rates it handles (SPEC §13). */
import { expect } from 'chai';
import { mixerCodecNames } from '../../src/mixer/codecs.js';
import { MIXER_CODECS, negotiate, type NegotiationInput } from '../../src/sip/uas/sdp-negotiate.js';

function offer(media: string[]): string {
  return ['v=0', 'o=- 1 1 IN IP4 127.0.2.51', 's=-', 'c=IN IP4 127.0.2.51', 't=0 0', ...media, ''].join('\r\n');
}

function input(sdp: string): NegotiationInput {
  return {
    offer: sdp, mode: 'mix', publicAddress: '127.0.2.1', audioPort: 5566, videoPort: 5568,
    audioCodecs: ['PCMU', 'PCMA', 'G722', 'L16', 'telephone-event'], videoCodecs: ['H264', 'VP8', 'VP9'],
    sessionCodecs: () => [], sessionId: 7, sessionVersion: 1,
  };
}

describe('sip/sdp-negotiate: mix-mode codecs', () => {
  it('lists exactly the mixer\'s codecs', () => {
    expect([...MIXER_CODECS].sort()).to.deep.equal([...mixerCodecNames()].sort());
  });

  it('accepts L16 at 16 kHz but not at a rate the mixer does not resample, nor stereo', () => {
    const ok = negotiate(input(offer(['m=audio 40000 RTP/AVP 97', 'a=rtpmap:97 L16/16000'])));
    expect(ok.ok).to.equal(true);
    const odd = negotiate(input(offer(['m=audio 40000 RTP/AVP 97', 'a=rtpmap:97 L16/22050'])));
    expect(odd.ok).to.equal(false);
    if (!odd.ok) expect(odd.status).to.equal(488);
    const stereo = negotiate(input(offer(['m=audio 40000 RTP/AVP 97', 'a=rtpmap:97 L16/16000/2'])));
    expect(stereo.ok).to.equal(false);
  });
});

describe('sip/sdp-negotiate: opus in mix mode', () => {
  it('accepts opus/48000/2 (RFC 7587 rtpmap) but not opus with another channel count or rate', () => {
    const mk = (rtpmap: string): NegotiationInput => ({
      ...input(offer(['m=audio 40000 RTP/AVP 111', `a=rtpmap:111 ${rtpmap}`])),
      audioCodecs: ['PCMU', 'opus', 'telephone-event'],
    });
    const ok = negotiate(mk('opus/48000/2'));
    expect(ok.ok).to.equal(true);
    if (ok.ok) expect(ok.answer).to.match(/a=rtpmap:111 opus\/48000\/2/);
    expect(negotiate(mk('opus/48000/1')).ok).to.equal(false);
    expect(negotiate(mk('opus/16000/2')).ok).to.equal(false);
  });
});
