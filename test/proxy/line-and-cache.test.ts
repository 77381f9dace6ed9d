import { expect } from 'chai';
import { AnswerCache } from '../../src/proxy/answer-cache.js';
import { newPasskey, passkeyMatches, parsePasskeyHex } from '../../src/proxy/passkey.js';
import { PortPool } from '../../src/proxy/port-pool.js';
import { parseAuthLine, parseCount, parseU32 } from '../../src/proxy/tcp-line.js';

describe('proxy line parsing, passkeys, port pool, answer cache', () => {
  it('parses authenticating lines and rejects malformed ones', () => {
    const key = '00112233445566778899aabbccddeeff';
    const ok = parseAuthLine(`GET 4294967295 ${key} 12`, 1);
    expect(ok?.verb).to.equal('GET');
    expect(ok?.id).to.equal(4294967295);
    expect(ok?.passkey?.toString('hex')).to.equal(key);
    expect(ok?.arg).to.equal('12');
    expect(parseAuthLine(`VIEW 1 ${key.toUpperCase()}`, 0)?.passkey?.toString('hex')).to.equal(key);
    const bad = [
      `VIEW 1 ${key} extra`, // argument where none is allowed
      `VIEW 4294967296 ${key}`, // id beyond u32
      `VIEW -1 ${key}`,
      `VIEW 1`,
      `VIEW  1 ${key}`, // double space
      '',
    ];
    for (const b of bad) expect(parseAuthLine(b, 0), b).to.equal(null);
    // A malformed passkey parses as a line with passkey null (answered like a wrong one).
    expect(parseAuthLine('VIEW 1 xyz', 0)?.passkey).to.equal(null);
    expect(parseU32('007')).to.equal(7);
    expect(parseU32('1e3')).to.equal(null);
    expect(parseCount('9007199254740993')).to.equal(null);
    expect(parseCount('123')).to.equal(123);
  });

  it('compares passkeys in constant time, refusing other lengths and malformed hex', () => {
    const k = newPasskey();
    expect(k).to.have.length(16);
    expect(passkeyMatches(k, parsePasskeyHex(k.toString('hex')))).to.equal(true);
    expect(passkeyMatches(k, parsePasskeyHex(newPasskey().toString('hex')))).to.equal(false);
    expect(passkeyMatches(k, parsePasskeyHex(k.toString('hex').slice(2)))).to.equal(false);
    expect(passkeyMatches(k, null)).to.equal(false);
  });

  it('hands out each port of a range once, round robin, and takes released ports back', () => {
    const pool = new PortPool({ first: 100, last: 102 });
    expect([pool.take(), pool.take(), pool.take(), pool.take()]).to.deep.equal([100, 101, 102, null]);
    pool.release(101);
    expect(pool.take()).to.equal(101);
    pool.setRange({ first: 200, last: 200 });
    expect(pool.take()).to.equal(200);
    expect(pool.take()).to.equal(null);
  });

  it('remembers answers per participant and REQUEST_ID, bounded in age and size', () => {
    const cache = new AnswerCache(1000, 3);
    const k = AnswerCache.key('p1', 7);
    expect(cache.lookup(k, 0)).to.equal(undefined);
    cache.begin(k, 0);
    expect(cache.lookup(k, 10)).to.equal(null);
    cache.complete(k, Buffer.from('grant'));
    expect(cache.lookup(k, 10)?.toString()).to.equal('grant');
    expect(cache.lookup(AnswerCache.key('p2', 7), 10)).to.equal(undefined);
    expect(cache.lookup(k, 1000)).to.equal(undefined);
    for (let i = 0; i < 10; i++) cache.begin(AnswerCache.key('p3', i), 2000);
    expect(cache.size).to.be.at.most(3);
    cache.forgetParticipant('p3');
    expect(cache.size).to.equal(0);
  });
});
