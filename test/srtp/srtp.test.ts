/** SRTP/SRTCP (RFC 3711): golden bytes of Appendix B, and the behaviour of the contexts. */
import { expect } from 'chai';
import { createCipheriv, createHmac } from 'node:crypto';
import { estimateIndex, SrtpDrop, SrtpInbound, SrtpOutbound } from '../../src/srtp/srtp-context.js';
import { AesCmKeystream, deriveKey, deriveSessionKeys, Label, writeIv, type SrtpKey } from '../../src/srtp/srtp-keys.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const MASTER_KEY = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
const MASTER_SALT = hex('0EC675AD498AFEEBB6960B3AABE6');

function key(suite: SrtpKey['suite'] = 'AES_CM_128_HMAC_SHA1_80', extra: Partial<SrtpKey> = {}): SrtpKey {
  return { suite, masterKey: MASTER_KEY, masterSalt: MASTER_SALT, ...extra };
}

function rtp(seq: number, ssrc = 0xdecafbad, payload: Buffer = Buffer.alloc(160, 0xab), pt = 0): Buffer {
  const h = Buffer.alloc(12);
  h[0] = 0x80;
  h[1] = pt;
  h.writeUInt16BE(seq & 0xffff, 2);
  h.writeUInt32BE((seq * 160) >>> 0, 4);
  h.writeUInt32BE(ssrc, 8);
  return Buffer.concat([h, payload]);
}

function rtcpSr(ssrc = 0xdecafbad): Buffer {
  // SR with no report blocks + SDES CNAME "a".
  const sr = Buffer.alloc(28);
  sr[0] = 0x80; sr[1] = 200; sr.writeUInt16BE(6, 2); sr.writeUInt32BE(ssrc, 4);
  const sdes = Buffer.from([0x81, 202, 0, 2, 0, 0, 0, 0, 1, 1, 0x61, 0]);
  sdes.writeUInt32BE(ssrc, 4);
  return Buffer.concat([sr, sdes]);
}

describe('srtp: RFC 3711 Appendix B test vectors', () => {
  it('B.3 key derivation: cipher key, cipher salt and auth key', () => {
    expect(deriveKey(MASTER_KEY, MASTER_SALT, Label.RtpEncryption, 16).toString('hex')).to.equal('c61e7a93744f39ee10734afe3ff7a087');
    expect(deriveKey(MASTER_KEY, MASTER_SALT, Label.RtpSalt, 14).toString('hex')).to.equal('30cbbc08863d8c85d49db34a9ae1');
    expect(deriveKey(MASTER_KEY, MASTER_SALT, Label.RtpAuth, 94).toString('hex')).to.equal(
      'cebe321f6ff7716b6fd4ab49af256a156d38baa48f0a0acf3c34e2359e6cdbce' +
      'e049646c43d9327ad175578ef72270986371c10c9a369ac2f94a8c5fbcdddc25' +
      '6d6e919a48b610ef17c2041e474035766b68642c59bbfc2f34db60dbdfb2');
    const s = deriveSessionKeys(MASTER_KEY, MASTER_SALT);
    expect(s.rtpAuth.toString('hex')).to.equal('cebe321f6ff7716b6fd4ab49af256a156d38baa4');
  });
  it('B.2 AES-CM keystream: first three blocks and the blocks FEFF..FF01', () => {
    const ks = new AesCmKeystream(hex('2B7E151628AED2A6ABF7158809CF4F3C'));
    const iv = Buffer.alloc(16);
    writeIv(iv, hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD'), 0, 0);
    expect(iv.toString('hex')).to.equal('f0f1f2f3f4f5f6f7f8f9fafbfcfd0000');
    const stream = ks.generate(iv, 1044512);
    expect(stream.subarray(0, 48).toString('hex')).to.equal(
      'e03ead0935c95e80e166b16dd92b4eb4d23513162b02d0f72a43a2fe4a5f97ab41e95b3bb0a2e8dd477901e4fca894c0');
    expect(stream.subarray(0xfeff * 16, 0xff02 * 16).toString('hex')).to.equal(
      'ec8cdf7398607cb0f2d21675ea9ea1e4362b7c3c6773516318a077d7fc5073ae6a2cc3787889374fbeb4c81b17ba6c44');
  });
  it('SRTP of a packet equals an independent AES-128-CTR + HMAC-SHA1 computation', () => {
    const out = new SrtpOutbound(key());
    const plain = rtp(0x1234, 0xcafebabe, Buffer.alloc(16, 0xab));
    const sec = out.protectRtp(plain);
    expect(sec).to.not.equal(null);
    if (sec === null) return;
    const s = deriveSessionKeys(MASTER_KEY, MASTER_SALT);
    const iv = Buffer.alloc(16);
    writeIv(iv, s.rtpSalt, 0xcafebabe, 0x1234);
    const c = createCipheriv('aes-128-ctr', s.rtpKey, iv).update(plain.subarray(12));
    const authed = Buffer.concat([plain.subarray(0, 12), c]);
    const tag = createHmac('sha1', s.rtpAuth).update(authed).update(Buffer.alloc(4)).digest().subarray(0, 10);
    expect(sec.toString('hex')).to.equal(Buffer.concat([authed, tag]).toString('hex'));
  });
});

describe('srtp: contexts', () => {
  it('round-trips SRTP (_80 and _32) and SRTCP; the plaintext never appears in the protected bytes', () => {
    for (const suite of ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as const) {
      const out = new SrtpOutbound(key(suite));
      const inb = new SrtpInbound(key(suite));
      const plain = rtp(7);
      const sec = out.protectRtp(plain);
      expect(sec?.length).to.equal(plain.length + (suite.endsWith('80') ? 10 : 4));
      expect(sec?.subarray(12).includes(Buffer.alloc(8, 0xab))).to.equal(false);
      const back = inb.unprotectRtp(Buffer.from(sec ?? Buffer.alloc(0)));
      expect(back?.equals(plain)).to.equal(true);
      const rc = rtcpSr();
      const srtcp = out.protectRtcp(rc);
      expect(srtcp?.length).to.equal(rc.length + 4 + 10);
      expect(inb.unprotectRtcp(Buffer.from(srtcp ?? Buffer.alloc(0)))?.equals(rc)).to.equal(true);
    }
  });
  it('drops a flipped bit, a replay, a wrong key and a short packet with their reasons', () => {
    const out = new SrtpOutbound(key());
    const inb = new SrtpInbound(key());
    const sec = out.protectRtp(rtp(100)) ?? Buffer.alloc(0);
    const flipped = Buffer.from(sec);
    flipped[20] ^= 0x01;
    expect(inb.unprotectRtp(flipped)).to.equal(null);
    expect(inb.lastDrop).to.equal(SrtpDrop.AuthFailed);
    expect(inb.unprotectRtp(Buffer.from(sec))).to.not.equal(null);
    expect(inb.unprotectRtp(Buffer.from(sec))).to.equal(null);
    expect(inb.lastDrop).to.equal(SrtpDrop.Replay);
    const other = new SrtpOutbound({ ...key(), masterKey: Buffer.alloc(16, 1) });
    expect(inb.unprotectRtp(other.protectRtp(rtp(101)) ?? Buffer.alloc(0))).to.equal(null);
    expect(inb.lastDrop).to.equal(SrtpDrop.AuthFailed);
    expect(inb.unprotectRtp(Buffer.alloc(15, 0x80))).to.equal(null);
    expect(inb.lastDrop).to.equal(SrtpDrop.TooShort);
    const rc = out.protectRtcp(rtcpSr()) ?? Buffer.alloc(0);
    expect(inb.unprotectRtcp(Buffer.from(rc))).to.not.equal(null);
    expect(inb.unprotectRtcp(Buffer.from(rc))).to.equal(null);
    expect(inb.lastDrop).to.equal(SrtpDrop.Replay);
  });
  it('accepts reordering inside the window and rejects packets older than it', () => {
    const out = new SrtpOutbound(key());
    const inb = new SrtpInbound(key());
    const pk = Array.from({ length: 300 }, (_, i) => out.protectRtp(rtp(i)) ?? Buffer.alloc(0));
    expect(inb.unprotectRtp(Buffer.from(pk[200]))).to.not.equal(null);
    expect(inb.unprotectRtp(Buffer.from(pk[150]))).to.not.equal(null);
    expect(inb.unprotectRtp(Buffer.from(pk[50]))).to.equal(null);
    expect(inb.lastDrop).to.equal(SrtpDrop.Replay);
  });
  it('follows the rollover counter across the sequence number wrap (RFC 3711 §3.3.1)', () => {
    const out = new SrtpOutbound(key());
    const inb = new SrtpInbound(key());
    for (let seq = 65530; seq < 65546; seq++) {
      const sec = out.protectRtp(rtp(seq & 0xffff)) ?? Buffer.alloc(0);
      const back = inb.unprotectRtp(sec);
      expect(back, `seq ${seq}`).to.not.equal(null);
    }
    expect(estimateIndex(65535, 0)).to.equal(65536);
    expect(estimateIndex(65536 + 5, 65534)).to.equal(65534);
    expect(estimateIndex(10, 65530)).to.be.lessThan(0);
  });
  it('checks the MKI and refuses packets beyond the key lifetime', () => {
    const mki = Buffer.from([0, 7]);
    const out = new SrtpOutbound(key('AES_CM_128_HMAC_SHA1_80', { mki, lifetime: 3 }));
    const inb = new SrtpInbound(key('AES_CM_128_HMAC_SHA1_80', { mki, lifetime: 2 }));
    const a = out.protectRtp(rtp(1)) ?? Buffer.alloc(0);
    expect(a.length).to.equal(172 + 2 + 10);
    expect(inb.unprotectRtp(Buffer.from(a))).to.not.equal(null);
    const b = Buffer.from(out.protectRtp(rtp(2)) ?? Buffer.alloc(0));
    b[172 + 1] = 8;
    expect(inb.unprotectRtp(b)).to.equal(null);
    expect(inb.lastDrop).to.equal(SrtpDrop.BadMki);
    expect(inb.unprotectRtp(out.protectRtp(rtp(3)) ?? Buffer.alloc(0))).to.not.equal(null);
    expect(out.protectRtp(rtp(4))).to.equal(null);
    const c = new SrtpOutbound(key('AES_CM_128_HMAC_SHA1_80', { mki }));
    expect(inb.unprotectRtp(c.protectRtp(rtp(5)) ?? Buffer.alloc(0))).to.equal(null);
    expect(inb.lastDrop).to.equal(SrtpDrop.KeyExpired);
  });
});

describe('srtp: HMAC-SHA1 without per-packet allocation', () => {
  it('RFC 2202 test cases 1, 2 and 6 (a key longer than a block)', async () => {
    const { HmacSha1 } = await import('../../src/srtp/hmac-sha1.js');
    const tag = (key: Buffer, data: Buffer): string => {
      const out = Buffer.alloc(20);
      new HmacSha1(key).mac(data, 0, data.length, -1, out, 0, 20);
      return out.toString('hex');
    };
    expect(tag(Buffer.alloc(20, 0x0b), Buffer.from('Hi There'))).to.equal('b617318655057264e28bc0b6fb378c8ef146be00');
    expect(tag(Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?'))).to.equal('effcdf6ae5eb2fa2d27416d5f184df9c259a7c79');
    expect(tag(Buffer.alloc(80, 0xaa), Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First'))).to.equal('aa4ae5e15272d00e95705637ce8a3b55ed402112');
  });
  it('equals node:crypto for random keys, lengths 0-600 and a 32-bit tail', async () => {
    const { HmacSha1 } = await import('../../src/srtp/hmac-sha1.js');
    for (let t = 0; t < 200; t++) {
      const key = Buffer.alloc(20, t);
      const m = Buffer.alloc((t * 37) % 600, (t * 13) & 0xff);
      const tail = t % 2 === 0 ? -1 : (t * 2654435761) >>> 0;
      const out = Buffer.alloc(20);
      new HmacSha1(key).mac(m, 0, m.length, tail, out, 0, 20);
      const h = createHmac('sha1', key).update(m);
      if (tail >= 0) { const b = Buffer.alloc(4); b.writeUInt32BE(tail); h.update(b); }
      expect(out.toString('hex'), `case ${t}`).to.equal(h.digest('hex'));
    }
  });
});
