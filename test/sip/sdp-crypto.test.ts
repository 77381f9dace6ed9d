/** SDES (RFC 4568) in the reflector's offer/answer and the SRTP policy (SPEC §15). */
import { expect } from 'chai';
import * as sdpTransform from 'sdp-transform';
import { chooseCrypto, parseKeyParams } from '../../src/sip/uas/sdp-crypto.js';
import { negotiate, sdpForStreams, type NegotiationInput } from '../../src/sip/uas/sdp-negotiate.js';

const KEY = 'WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz'; // 30 bytes, RFC 4568 §9.1's example
const KEY2 = 'PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR';

function offer(proto: string, crypto: string[]): string {
  return ['v=0', 'o=- 1 1 IN IP4 127.0.60.50', 's=-', 'c=IN IP4 127.0.60.50', 't=0 0',
    `m=audio 40000 ${proto} 0`, ...crypto.map((c) => `a=crypto:${c}`), ''].join('\r\n');
}

function input(sdp: string, srtp: NegotiationInput['srtp'] = 'optional', extra: Partial<NegotiationInput> = {}): NegotiationInput {
  return {
    offer: sdp, mode: 'reflect', publicAddress: '127.0.60.1', audioPort: 5566, videoPort: 5568,
    audioCodecs: ['PCMU'], videoCodecs: [], sessionCodecs: () => [], sessionId: 1, sessionVersion: 1, srtp, ...extra,
  };
}

describe('sip/sdp-crypto: SDES keys and the SRTP policy', () => {
  it('answers RTP/SAVP with the offer\'s tag and suite and a fresh key of its own', () => {
    const r = negotiate(input(offer('RTP/SAVP', [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^20|1:4`, `2 AES_CM_128_HMAC_SHA1_32 inline:${KEY2}`])));
    expect(r.ok).to.equal(true);
    if (!r.ok) return;
    const m = sdpTransform.parse(r.answer).media[0];
    expect(m?.protocol).to.equal('RTP/SAVP');
    expect(m?.crypto).to.have.length(1);
    expect([m?.crypto?.[0]?.id, m?.crypto?.[0]?.suite]).to.deep.equal([1, 'AES_CM_128_HMAC_SHA1_80']);
    const ours = m?.crypto?.[0]?.config ?? '';
    expect(ours).to.match(/^inline:[A-Za-z0-9+/]{40}$/);
    expect(ours).to.not.include(KEY);
    const k = r.streams[0]?.srtp;
    expect(k?.remote.masterKey.toString('base64')).to.equal(Buffer.from(KEY, 'base64').subarray(0, 16).toString('base64'));
    expect(k?.remote.lifetime).to.equal(2 ** 20);
    expect(k?.remote.mki?.toString('hex')).to.equal('00000001');
    expect(`inline:${Buffer.concat([k?.local.masterKey ?? Buffer.alloc(0), k?.local.masterSalt ?? Buffer.alloc(0)]).toString('base64')}`).to.equal(ours);
  });

  it('skips unsupported suites, session parameters, several keys and bad keys; picks the next acceptable line', () => {
    const r = negotiate(input(offer('RTP/SAVPF', [
      `1 AES_256_CM_HMAC_SHA1_80 inline:${KEY}${KEY}`,
      `2 AES_CM_128_HMAC_SHA1_80 inline:${KEY} KDR=1`,
      `3 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^20|1:4;inline:${KEY2}|2^20|2:4`,
      '4 AES_CM_128_HMAC_SHA1_80 inline:short',
      `5 AES_CM_128_HMAC_SHA1_32 inline:${KEY2}`,
    ])));
    expect(r.ok && sdpTransform.parse(r.answer).media[0]?.crypto?.map((c) => [c.id, c.suite])).to.deep.equal([[5, 'AES_CM_128_HMAC_SHA1_32']]);
    expect(r.ok && sdpTransform.parse(r.answer).media[0]?.protocol).to.equal('RTP/SAVPF');
  });

  it('an offer with only unsupported crypto gets 488 that says why', () => {
    const r = negotiate(input(offer('RTP/SAVP', [`1 AES_256_CM_HMAC_SHA1_80 inline:${KEY}${KEY}`, `2 F8_128_HMAC_SHA1_80 inline:${KEY}`])));
    expect(r.ok).to.equal(false);
    if (r.ok) return;
    expect(r.status).to.equal(488);
    expect(r.reason).to.match(/No acceptable crypto.*unsupported suite/);
    const none = negotiate(input(offer('RTP/SAVP', [])));
    expect(!none.ok && none.reason).to.match(/no a=crypto line/);
  });

  it('SRTP required answers RTP/AVP 488; SRTP off answers RTP/SAVP 488; optional takes both', () => {
    const plain = offer('RTP/AVP', []);
    const sec = offer('RTP/SAVP', [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`]);
    const req = negotiate(input(plain, 'required'));
    expect(!req.ok && [req.status, req.reason]).to.deep.equal([488, 'SRTP required']);
    const off = negotiate(input(sec, 'off'));
    expect(!off.ok && [off.status, off.reason]).to.deep.equal([488, 'SRTP not enabled on this server']);
    expect(negotiate(input(plain, 'optional')).ok).to.equal(true);
    const opt = negotiate(input(sec, 'optional'));
    expect(opt.ok && opt.streams[0]?.srtp?.suite).to.equal('AES_CM_128_HMAC_SHA1_80');
    expect(negotiate(input(sec, 'required')).ok).to.equal(true);
  });

  it('keeps the reflector\'s key across a re-INVITE with the same suite, and offers it again in a re-INVITE without SDP', () => {
    const sec = offer('RTP/SAVP', [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`]);
    const first = negotiate(input(sec));
    if (!first.ok) throw new Error('first');
    const again = negotiate(input(offer('RTP/SAVP', [`7 AES_CM_128_HMAC_SHA1_80 inline:${KEY2}`]), 'optional', { previousStreams: first.streams }));
    if (!again.ok) throw new Error('again');
    expect(again.streams[0]?.srtp?.local).to.equal(first.streams[0]?.srtp?.local);
    expect(again.streams[0]?.srtp?.tag).to.equal(7);
    const re = sdpTransform.parse(sdpForStreams({ publicAddress: '127.0.60.1', audioPort: 5566, videoPort: 5568, sessionId: 1, sessionVersion: 3 }, again.streams)).media[0];
    expect(re?.protocol).to.equal('RTP/SAVP');
    expect(re?.crypto?.[0]?.config).to.equal(sdpTransform.parse(again.answer).media[0]?.crypto?.[0]?.config);
  });

  it('parses key-params defensively', () => {
    expect(parseKeyParams('AES_CM_128_HMAC_SHA1_80', `inline:${KEY}|1048576`)).to.include({ lifetime: 1048576 });
    expect(parseKeyParams('AES_CM_128_HMAC_SHA1_80', `inline:${KEY}|2^99`)).to.equal('bad lifetime');
    expect(parseKeyParams('AES_CM_128_HMAC_SHA1_80', `inline:${KEY}|1:5`)).to.match(/MKI/);
    expect(parseKeyParams('AES_CM_128_HMAC_SHA1_80', `inline:${KEY}|2^20|1:4|x`)).to.be.a('string');
    expect(parseKeyParams('AES_CM_128_HMAC_SHA1_80', `uri:${KEY}`)).to.be.a('string');
    expect(chooseCrypto([{ id: -1, suite: 'AES_CM_128_HMAC_SHA1_80', config: `inline:${KEY}` }]).ok).to.equal(false);
  });
  it('best-effort SRTP (RTP/AVP with a=crypto) is answered with our key and keeps RTP/AVP; off answers it plain', () => {
    const be = offer('RTP/AVP', [`1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`]);
    for (const policy of ['optional', 'required'] as const) {
      const r = negotiate(input(be, policy));
      expect(r.ok, policy).to.equal(true);
      if (!r.ok) continue;
      const m = sdpTransform.parse(r.answer).media[0];
      expect([m?.protocol, m?.crypto?.length, r.streams[0]?.srtp?.suite]).to.deep.equal(['RTP/AVP', 1, 'AES_CM_128_HMAC_SHA1_80']);
    }
    const off = negotiate(input(be, 'off'));
    expect(off.ok && [sdpTransform.parse(off.answer).media[0]?.crypto, off.streams[0]?.srtp]).to.deep.equal([undefined, undefined]);
    const unsupported = offer('RTP/AVP', [`1 AES_256_CM_HMAC_SHA1_80 inline:${KEY}${KEY}`]);
    expect(negotiate(input(unsupported, 'optional')).ok).to.equal(true);
    const req = negotiate(input(unsupported, 'required'));
    expect(!req.ok && req.reason).to.equal('SRTP required');
  });
});
