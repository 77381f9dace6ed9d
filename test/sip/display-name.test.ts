/** Participants are named by the display name of their SIP From header (RFC 3261 §25.1 name-addr). */
import { expect } from 'chai';
import type { SipRequest } from '../../src/sip/message.js';
import { displayNameOf } from '../../src/sip/uas/conference-uas.js';

function from(raw: string): SipRequest {
  return { from: { raw, uri: 'sip:x@127.0.0.1' } } as unknown as SipRequest;
}

describe('sip: the From display name', () => {
  it('reads quoted and token display names, unescaped; none without one', () => {
    expect(displayNameOf(from('"Alice Smith" <sip:alice@127.0.0.1>;tag=1'))).to.deep.equal({ displayName: 'Alice Smith' });
    expect(displayNameOf(from('"Al \\"the\\" Boss" <sip:al@127.0.0.1>'))).to.deep.equal({ displayName: 'Al "the" Boss' });
    expect(displayNameOf(from('Bob  Jones <sip:bob@127.0.0.1>'))).to.deep.equal({ displayName: 'Bob  Jones' });
    expect(displayNameOf(from('<sip:carol@127.0.0.1>;tag=2'))).to.deep.equal({});
    expect(displayNameOf(from('sip:dave@127.0.0.1;tag=3'))).to.deep.equal({});
    expect(displayNameOf(from('"" <sip:e@127.0.0.1>'))).to.deep.equal({});
    expect(displayNameOf(from(`"${'x'.repeat(100)}\u0007" <sip:f@127.0.0.1>`)).displayName).to.equal('x'.repeat(64));
  });
});
