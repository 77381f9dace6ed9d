/** Session names (SPEC §4): percent-decoded Request-URI user part, 1–64 code points, no controls. */
import { expect } from 'chai';
import { decodeSessionName } from '../../src/sip/session-name.js';

describe('sip/session-name', () => {
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
