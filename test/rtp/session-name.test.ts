/** The one session-name rule shared by SIP, the interconnect and the proxy (SPEC §4). */
import { expect } from 'chai';
import { isValidSessionName, sessionNameFault } from '../../src/rtp/session-name.js';

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
});
