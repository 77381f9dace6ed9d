/**
 * The pieces of the peer benchmark that need no peer installed: bencode for
 * rtpengine's ng protocol (round trip, sorted keys, malformed input rejected)
 * and the SDP the bench offers / reads back. No speed asserted, no process started.
 */
import { expect } from 'chai';
import { bdecode, bencode } from '../../tools/bench/bencode.js';
import { offerSdp, sdpAudioTarget } from '../../tools/bench/peers.js';

describe('tools/bench peers: ng protocol and SDP pieces', () => {
  it('bencodes an ng offer with sorted keys and decodes it back', () => {
    const req = { 'call-id': 'c1', command: 'offer', 'from-tag': 'a', flags: ['x', 'y'], n: -12 };
    const enc = bencode(req);
    expect(enc.toString('latin1')).to.equal('d7:call-id2:c17:command5:offer5:flagsl1:x1:ye8:from-tag1:a1:ni-12ee');
    expect(bdecode(enc)).to.deep.equal(req);
    expect(bdecode(Buffer.from('d6:result4:ponge'))).to.deep.equal({ result: 'pong' });
  });

  it('rejects malformed bencode with a RangeError instead of crashing or looping', () => {
    for (const bad of ['', 'd', 'l1:a', 'i12', 'ixe', '5:abc', 'd1:a', 'di1ei2ee', 'x', '1:ab', 'i1ei2e', 'l'.repeat(100) + 'e'.repeat(100)]) {
      expect(() => bdecode(Buffer.from(bad, 'latin1')), JSON.stringify(bad)).to.throw(RangeError);
    }
  });

  it('offers PCMU on the participant’s address and port, and reads the port a peer answers with', () => {
    const sdp = offerSdp('127.0.7.21', 40002, 7);
    expect(sdp).to.include('c=IN IP4 127.0.7.21\r\n');
    expect(sdp).to.include('m=audio 40002 RTP/AVP 0\r\n');
    expect(sdpAudioTarget(sdp)).to.deep.equal({ address: '127.0.7.21', port: 40002 });
    const answer = 'v=0\r\no=- 1 2 IN IP4 127.0.7.15\r\ns=-\r\nc=IN IP4 127.0.7.15\r\nt=0 0\r\nm=audio 30012 RTP/AVP 0\r\na=rtcp:30013\r\n';
    expect(sdpAudioTarget(answer)).to.deep.equal({ address: '127.0.7.15', port: 30012 });
    expect(sdpAudioTarget('v=0\r\nm=audio 0 RTP/AVP 0\r\n')).to.equal(undefined);
  });
});
