/** The one session-name rule shared by SIP, the interconnect and the proxy (SPEC §4). */
import { expect } from 'chai';
import { decodeSessionName, isValidSessionName, sessionNameFault } from '../../src/rtp/session-name.js';

describe('rtp/session-name (the shared rule)', () => {
  it('accepts 1–64 code points, counting code points (not UTF-16 units); case kept', () => {
    expect(sessionNameFault('Weekly review')).to.equal(undefined);
    expect(isValidSessionName('a')).to.equal(true);
    expect(isValidSessionName('🎵'.repeat(64))).to.equal(true);
    expect(sessionNameFault('🎵'.repeat(65))).to.equal('too_long');
    expect(sessionNameFault('a'.repeat(65))).to.equal('too_long');
    expect(isValidSessionName('\ufffd broken utf-8 from a peer')).to.equal(true);
  });
  it('refuses empty names, C0/DEL/C1 controls and lone surrogates', () => {
    expect(sessionNameFault('')).to.equal('empty');
    for (const bad of ['a\nb', 'a\u0000', 'a\u007fb', 'a\u0085b', 'a\ud800b', '\udc00']) {
      expect(sessionNameFault(bad), JSON.stringify(bad)).to.equal('control_characters');
    }
    expect(sessionNameFault(`${'a'.repeat(70)}\n`), 'controls are named before length').to.equal('control_characters');
  });
  describe('decodeSessionName: the SIP Request-URI user part, percent-decoded', () => {
    it('decodes percent-encoding and keeps case', () => {
      expect(decodeSessionName('weekly%20review')).to.deep.equal({ ok: true, name: 'weekly review' });
      expect(decodeSessionName('Weekly')).to.deep.equal({ ok: true, name: 'Weekly' });
      expect(decodeSessionName('%E6%9C%83%E8%AD%B0')).to.deep.equal({ ok: true, name: '會議' });
    });
    it('counts code points, not UTF-16 units or bytes', () => {
      const emoji64 = '%F0%9F%8E%B5'.repeat(64);
      expect(decodeSessionName(emoji64).ok).to.equal(true);
      expect(decodeSessionName(emoji64 + 'a')).to.deep.equal({ ok: false, reason: 'Session name too long' });
      expect(decodeSessionName('a'.repeat(64)).ok).to.equal(true);
      expect(decodeSessionName('a'.repeat(65)).ok).to.equal(false);
    });
    it('rejects empty, control characters and bad encodings with a reason that says why', () => {
      expect(decodeSessionName(undefined)).to.deep.equal({ ok: false, reason: 'Session name missing' });
      expect(decodeSessionName('a%0Ab')).to.deep.equal({ ok: false, reason: 'Session name contains control characters' });
      expect(decodeSessionName('a%7Fb').ok).to.equal(false);
      expect(decodeSessionName('a%C2%85b').ok, 'C1 control NEL').to.equal(false);
      expect(decodeSessionName('a%ZZ')).to.deep.equal({ ok: false, reason: 'Session name badly percent-encoded' });
      expect(decodeSessionName('%C3%28')).to.deep.equal({ ok: false, reason: 'Session name badly percent-encoded' });
    });
  });
});
