/** Digest (RFC 7616 / RFC 8760 for SIP): golden vectors, challenges, stale nonces, replays, HA1 secrets, rate limit. */
import { expect } from 'chai';
import { DigestAuthenticator, FailureLimiter, computeHa1, digestResponse, parseAuthorization, parseChallenge, type DigestCredentials } from '../../src/sip/uas/digest.js';

describe('sip/digest', () => {
  it('computes the RFC 2617 §3.5 MD5 example', () => {
    const ha1 = computeHa1('MD5', 'Mufasa', 'testrealm@host.com', 'Circle Of Life');
    expect(digestResponse('MD5', ha1, 'GET', { nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093', uri: '/dir/index.html', qop: 'auth', nc: '00000001', cnonce: '0a4f113b' }))
      .to.equal('6629fae49393a05397450978507c4ef1');
  });
  it('computes the RFC 7616 §3.9.1 SHA-256 example', () => {
    const ha1 = computeHa1('SHA-256', 'Mufasa', 'http-auth@example.org', 'Circle of Life');
    expect(digestResponse('SHA-256', ha1, 'GET', {
      nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v', uri: '/dir/index.html', qop: 'auth', nc: '00000001',
      cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
    })).to.equal('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });

  let now = 1_000_000;
  const auth = (algorithms: ('MD5' | 'SHA-256')[] = ['SHA-256', 'MD5']) => new DigestAuthenticator({
    realm: 'r', algorithms, nonceTtlMs: 60_000, now: () => now,
    users: [{ name: 'alice', password: 'pw' }, { name: 'bob', ha1Md5: computeHa1('MD5', 'bob', 'r', 'bpw') }, { name: 'sha', ha1Sha256: computeHa1('SHA-256', 'sha', 'r', 'spw') }],
  });
  const creds = (a: DigestAuthenticator, user: string, pw: string, alg: 'MD5' | 'SHA-256', nc: string, method = 'INVITE', nonce = a.newNonce()): DigestCredentials => {
    const uri = 'sip:room@127.0.2.1';
    const response = digestResponse(alg, computeHa1(alg, user, 'r', pw), method, { nonce, uri, qop: 'auth', nc, cnonce: 'cn' });
    return { username: user, realm: 'r', nonce, uri, response, algorithm: alg, qop: 'auth', nc, cnonce: 'cn' };
  };

  it('offers one challenge per algorithm in the configured order, qop=auth, no userhash', () => {
    const ch = auth().challenges(false);
    expect(ch).to.have.length(2);
    expect(parseChallenge(ch[0] ?? '')?.algorithm).to.equal('SHA-256');
    expect(parseChallenge(ch[1] ?? '')?.algorithm).to.equal('MD5');
    expect(ch[0]).to.match(/qop="auth"/).and.not.match(/userhash/);
    expect(auth().challenges(true)[0]).to.match(/stale=true/);
  });
  it('accepts good credentials for passwords and HA1 secrets (MD5 and SHA-256)', () => {
    const a = auth();
    expect(a.verify(creds(a, 'alice', 'pw', 'SHA-256', '00000001'), 'INVITE', false)).to.deep.equal({ ok: true, user: 'alice' });
    expect(a.verify(creds(a, 'bob', 'bpw', 'MD5', '00000001'), 'INVITE', false)).to.deep.equal({ ok: true, user: 'bob' });
    expect(a.verify(creds(a, 'sha', 'spw', 'SHA-256', '00000001'), 'INVITE', false)).to.deep.equal({ ok: true, user: 'sha' });
    expect(a.verify(creds(a, 'bob', 'bpw', 'SHA-256', '00000001'), 'INVITE', false), 'no SHA-256 HA1 for bob').to.deep.equal({ ok: false, reason: 'bad_user' });
  });
  it('rejects wrong passwords, unknown users, foreign nonces and unoffered algorithms', () => {
    const a = auth(['MD5']);
    expect(a.verify(creds(a, 'alice', 'nope', 'MD5', '00000001'), 'INVITE', false)).to.deep.equal({ ok: false, reason: 'bad_response' });
    expect(a.verify(creds(a, 'mallory', 'pw', 'MD5', '00000001'), 'INVITE', false)).to.deep.equal({ ok: false, reason: 'bad_user' });
    expect(a.verify(creds(a, 'alice', 'pw', 'MD5', '00000001', 'INVITE', auth().newNonce()), 'INVITE', false)).to.deep.equal({ ok: false, reason: 'unknown_nonce' });
    expect(a.verify(creds(a, 'alice', 'pw', 'SHA-256', '00000001'), 'INVITE', false)).to.deep.equal({ ok: false, reason: 'bad_algorithm' });
  });
  it('answers an expired nonce with stale (good credentials), but not for in-dialog requests', () => {
    const a = auth();
    const c = creds(a, 'alice', 'pw', 'MD5', '00000001');
    now += 61_000;
    expect(a.verify(c, 'INVITE', false)).to.deep.equal({ ok: false, reason: 'stale' });
    expect(a.verify({ ...c, nc: '00000002', response: creds(a, 'alice', 'pw', 'MD5', '00000002', 'BYE', c.nonce).response }, 'BYE', true).ok).to.equal(true);
  });
  it('rejects a nonce-count that goes backwards; an equal count is a replay for a new INVITE but not in the dialog', () => {
    const a = auth();
    const nonce = a.newNonce();
    const c2 = creds(a, 'alice', 'pw', 'MD5', '00000002', 'INVITE', nonce);
    expect(a.verify(c2, 'INVITE', false).ok).to.equal(true);
    expect(a.verify(c2, 'INVITE', false)).to.deep.equal({ ok: false, reason: 'replay' });
    expect(a.verify(c2, 'INVITE', true).ok, 'ACK/re-INVITE repeating the INVITE credentials').to.equal(true);
    expect(a.verify(creds(a, 'alice', 'pw', 'MD5', '00000001', 'BYE', nonce), 'BYE', true)).to.deep.equal({ ok: false, reason: 'replay' });
    expect(a.verify(creds(a, 'alice', 'pw', 'MD5', '00000003', 'BYE', nonce), 'BYE', true).ok).to.equal(true);
  });
  it('parses Authorization headers with quoted commas and several credential sets', () => {
    const v = 'Digest username="a,b", realm="r", nonce="n", uri="sip:x@y", response="abc", algorithm=MD5, qop=auth, nc=00000001, cnonce="c", Digest username="z", realm="q", nonce="m", uri="sip:x", response="d"';
    const all = parseAuthorization(v);
    expect(all.map((c) => [c.username, c.realm])).to.deep.equal([['a,b', 'r'], ['z', 'q']]);
    expect(parseAuthorization('Basic Zm9vOmJhcg==')).to.deep.equal([]);
  });
  it('blocks a source after repeated failures within the window', () => {
    let t = 0;
    const l = new FailureLimiter(3, 1000, () => t);
    l.fail('127.0.2.9'); l.fail('127.0.2.9');
    expect(l.blocked('127.0.2.9')).to.equal(false);
    l.fail('127.0.2.9');
    expect(l.blocked('127.0.2.9')).to.equal(true);
    expect(l.blocked('127.0.2.8')).to.equal(false);
    t = 1001;
    expect(l.blocked('127.0.2.9')).to.equal(false);
  });
});
