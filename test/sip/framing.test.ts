/** SIP framing (RFC 3261 §7.5, §18.3) and the typed message layer over drachtio's parser. */
import { expect } from 'chai';
import { FrameDrop, StreamFramer, contentLengthOf, frameDatagram, type Frame } from '../../src/sip/transport/framing.js';
import { MAX_SIP_MESSAGE_BYTES, SipParseDrop, parseSipMessage, parseVia } from '../../src/sip/message.js';
import { lcg31 } from '../helpers/prng.js';

const OPTIONS = (id: string, body = ''): string => [
  'OPTIONS sip:127.0.2.1 SIP/2.0',
  'Via: SIP/2.0/TCP 127.0.2.2:5090;branch=z9hG4bK' + id + ';rport',
  'Max-Forwards: 70',
  'From: "A" <sip:a@127.0.2.2>;tag=abc',
  'To: <sip:127.0.2.1>',
  `Call-ID: ${id}`,
  'CSeq: 7 OPTIONS',
  `Content-Length: ${Buffer.byteLength(body)}`,
  '', body,
].join('\r\n');

describe('sip/framing: datagrams', () => {
  it('frames a datagram and cuts the body to Content-Length', () => {
    const f = frameDatagram(Buffer.from(OPTIONS('d1', 'hello') + 'EXTRA'));
    expect(typeof f).to.equal('object');
    expect((f as Frame).body.toString()).to.equal('hello');
  });
  it('a datagram shorter than its Content-Length is framed, and the parser rejects it (a request gets 400, RFC 3261 §18.3)', () => {
    const f = frameDatagram(Buffer.from(OPTIONS('d2', 'hello').replace('Content-Length: 5', 'Content-Length: 50')));
    if (typeof f === 'string') throw new Error(`not framed: ${f}`);
    const r = parseSipMessage(f.head, f.body);
    expect(r.ok).to.equal(false);
    if (!r.ok) { expect(r.reason).to.equal(SipParseDrop.BadContentLength); expect(r.partial).to.not.equal(undefined); }
  });
  it('treats CRLF-only datagrams as keep-alives', () => {
    expect(frameDatagram(Buffer.from('\r\n\r\n'))).to.equal('keepalive');
  });
  it('rejects oversized, headless, binary and badly numbered messages by reason', () => {
    expect(frameDatagram(Buffer.alloc(MAX_SIP_MESSAGE_BYTES + 1, 0x41))).to.equal(FrameDrop.TooLarge);
    expect(frameDatagram(Buffer.from('INVITE sip:x SIP/2.0\r\nVia: x'))).to.equal(FrameDrop.NoHeaderEnd);
    expect(frameDatagram(Buffer.from('INV\u0000ITE sip:x SIP/2.0\r\n\r\n'))).to.equal(FrameDrop.NotText);
    // A bad Content-Length is framed so that the request can be answered 400; the parser names the reason.
    const bad = frameDatagram(Buffer.from(OPTIONS('d3').replace('Content-Length: 0', 'Content-Length: -1')));
    if (typeof bad === 'string') throw new Error(`not framed: ${bad}`);
    const r = parseSipMessage(bad.head, bad.body);
    expect(r.ok ? 'ok' : r.reason).to.equal(SipParseDrop.BadContentLength);
    expect(contentLengthOf('A: b\r\nl: 5\r\nContent-Length: 6')).to.equal(null);
    expect(contentLengthOf('A: b\r\nl: 5')).to.equal(5);
    expect(contentLengthOf('A: b')).to.equal(undefined);
  });
});

describe('sip/framing: streams', () => {
  it('splits several messages in one segment, skipping CRLF keep-alives between them', () => {
    const fr = new StreamFramer();
    const out: Frame[] = [];
    expect(fr.push(Buffer.from(OPTIONS('s1') + '\r\n\r\n' + OPTIONS('s2', 'xy') + OPTIONS('s3')), out)).to.equal(null);
    expect(out.map((f) => f.head.match(/Call-ID: (\w+)/)?.[1])).to.deep.equal(['s1', 's2', 's3']);
    expect(out[1]?.body.toString()).to.equal('xy');
    expect(fr.buffered).to.equal(0);
  });
  it('reassembles a message delivered byte by byte', () => {
    const fr = new StreamFramer();
    const out: Frame[] = [];
    const msg = Buffer.from(OPTIONS('s4', 'body!'));
    for (let i = 0; i < msg.length; i++) expect(fr.push(msg.subarray(i, i + 1), out)).to.equal(null);
    expect(out).to.have.length(1);
    expect(out[0]?.body.toString()).to.equal('body!');
  });
  it('fails the stream on a missing Content-Length, a message over 64 KiB, or binary headers', () => {
    const out: Frame[] = [];
    expect(new StreamFramer().push(Buffer.from(OPTIONS('s5').replace('Content-Length: 0\r\n', '')), out)).to.equal(FrameDrop.MissingContentLength);
    expect(new StreamFramer().push(Buffer.from(OPTIONS('s6').replace('Content-Length: 0', 'Content-Length: 70000')), out)).to.equal(FrameDrop.TooLarge);
    const big = new StreamFramer();
    let r: string | null = null;
    for (let i = 0; i < 40 && r === null; i++) r = big.push(Buffer.alloc(4096, 0x41), out);
    expect(r).to.equal(FrameDrop.TooLarge);
    expect(new StreamFramer().push(Buffer.from('\u0001\u0002\u0003\r\n\r\n'), out)).to.equal(FrameDrop.NotText);
    const dead = new StreamFramer();
    dead.push(Buffer.from('\u0001\r\n\r\n'), out);
    expect(dead.push(Buffer.from(OPTIONS('s7')), out), 'no resynchronisation after a violation').to.equal(FrameDrop.NotText);
  });
});

describe('sip/message: typed parse over drachtio-srf', () => {
  const parse = (text: string) => {
    const f = frameDatagram(Buffer.from(text));
    if (typeof f === 'string') throw new Error(f);
    return parseSipMessage(f.head, f.body);
  };
  it('reads a request with compact headers, Via list and tags', () => {
    const r = parse(['INVITE sip:weekly%20review@127.0.2.1;mode=mix SIP/2.0', 'v: SIP/2.0/UDP 127.0.2.2:5062;branch=z9hG4bKa;rport, SIP/2.0/UDP [::1]:5070;branch=z9hG4bKb',
      'f: <sip:a@h>;tag=1', 't: <sip:b@h>', 'i: cid', 'CSeq: 3 INVITE', 'l: 0', '', ''].join('\r\n'));
    expect(r.ok).to.equal(true);
    if (!r.ok || r.message.kind !== 'request') return;
    expect(r.message.method).to.equal('INVITE');
    expect(r.message.via.map((v) => [v.host, v.port, v.branch, v.rport])).to.deep.equal([['127.0.2.2', 5062, 'z9hG4bKa', true], ['[::1]', 5070, 'z9hG4bKb', false]]);
    expect(r.message.from.tag).to.equal('1');
    expect(r.message.to.tag).to.equal(undefined);
    expect(r.message.cseq).to.deep.equal({ seq: 3, method: 'INVITE' });
  });
  it('reports missing or broken headers with a partial request that can still be answered', () => {
    const r = parse(OPTIONS('m1').replace('CSeq: 7 OPTIONS', 'CSeq: x OPTIONS'));
    expect(r.ok).to.equal(false);
    if (r.ok) return;
    expect(r.reason).to.equal(SipParseDrop.BadCseq);
    expect(r.partial?.method).to.equal('OPTIONS');
    const m = parse(OPTIONS('m2').replace('CSeq: 7 OPTIONS', 'CSeq: 7 INVITE'));
    expect(!m.ok && m.reason).to.equal(SipParseDrop.CseqMethodMismatch);
    const noVia = parse(OPTIONS('m3').replace(/Via: [^\r]*\r\n/, ''));
    expect(!noVia.ok && noVia.reason).to.equal(SipParseDrop.MissingHeader);
    expect(!noVia.ok && noVia.partial).to.equal(undefined);
    expect(parseVia('garbage')).to.equal(undefined);
  });
  it('never throws on random text', () => {
    const rnd = lcg31(1);
    const alphabet = 'INVITE SIP/2.0 sip:@;=,:<>"\r\n\tViaFromToCSeqCall-ID0123456789';
    for (let i = 0; i < 2000; i++) {
      let s = '';
      const n = Math.floor(rnd() * 300);
      for (let j = 0; j < n; j++) s += alphabet[Math.floor(rnd() * alphabet.length)];
      expect(() => parseSipMessage(s, Buffer.alloc(0))).to.not.throw();
    }
  });
});
