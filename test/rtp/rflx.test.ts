import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import {
  RflxDrop,
  encodeRflx,
  findRflxApp,
  findRflxAppOffset,
  parseRflx,
  verifyRflxAuth,
  type RflxDropReason,
} from '../../src/rtp/rflx.js';
import { RflxSubtype, type RflxMessage } from '../../src/rtp/rflx-types.js';
import { FUZZ_COUNT, forEachFuzzInput } from './fuzz.js';

const ascii = (s: string): number[] => Array.from(Buffer.from(s, 'ascii'));

// Golden packets written by hand from SPEC §7.
const HELLO = Buffer.from([
  0x90, 0xcc, 0x00, 0x06, // V=2 P=0 subtype 16 (HELLO) | PT 204 (APP) | length 6 → 28 bytes
  0x00, 0x00, 0x00, 0x00, // SSRC 0 (a reflector)
  0x52, 0x46, 0x4c, 0x58, // name "RFLX"
  0x0e, 0x00, 0x02, 0x72, // TLV 14 REFLECTOR_ID, length 2, "r"
  0x31, 0x0f, 0x00, 0x08, // "1" | TLV 15 BOOT_EPOCH, length 8
  0x01, 0x02, 0x03, 0x04, // BOOT_EPOCH 0x0102030405060708 (u64 big-endian)
  0x05, 0x06, 0x07, 0x08, //
]);

const SESSION_STATE = Buffer.from([
  0x91, 0xcc, 0x00, 0x0a, // subtype 17 (SESSION_STATE) | APP | length 10 → 44 bytes
  0x00, 0x00, 0x00, 0x00, // SSRC 0
  0x52, 0x46, 0x4c, 0x58, // "RFLX"
  0x11, 0x00, 0x0d, // TLV 17 SESSION, length 13
  ...ascii('weekly review'), // the session name
  0x12, 0x00, 0x04, 0xca, 0xfe, 0xba, 0xbe, // TLV 18 RELAY_ID = 0xCAFEBABE
  0x13, 0x00, 0x04, 0x00, 0x00, 0x00, 0x03, // TLV 19 COUNT = 3
  0x00, 0x00, // zero padding to 32 bits (42 → 44)
]);

const SHARE_GRANT = Buffer.from([
  0x82, 0xcc, 0x00, 0x0f, // subtype 2 (SHARE_GRANT) | APP | length 15 → 64 bytes
  0x00, 0x00, 0x00, 0x00, // SSRC 0
  0x52, 0x46, 0x4c, 0x58, // "RFLX"
  0x02, 0x00, 0x04, 0x11, 0x22, 0x33, 0x44, // TLV 2 SHARE_ID = 0x11223344
  0x03, 0x00, 0x02, 0x1b, 0x58, // TLV 3 PORT = 7000
  0x04, 0x00, 0x10, // TLV 4 PASSKEY, 16 bytes:
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
  0x05, 0x00, 0x09, ...ascii('127.0.0.1'), // TLV 5 ADDRESS
  0x16, 0x00, 0x04, 0x00, 0x00, 0x00, 0x07, // TLV 22 REQUEST_ID = 7
  0x00, 0x00, // padding 62 → 64
]);

// Parse-only: a client's FILE_REQUEST in its own TLV order, with an unknown TLV to skip.
const FILE_REQUEST = Buffer.from([
  0x85, 0xcc, 0x00, 0x13, // subtype 5 (FILE_REQUEST) | APP | length 19 → 80 bytes
  0x11, 0x22, 0x33, 0x44, // SSRC of the participant's audio
  0x52, 0x46, 0x4c, 0x58, // "RFLX"
  0x16, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, // TLV 22 REQUEST_ID = 1
  0x07, 0x00, 0x05, ...ascii('a.txt'), // TLV 7 NAME
  0x63, 0x00, 0x01, 0x78, // TLV 99 (unknown), 1 byte: skipped
  0x08, 0x00, 0x08, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, // TLV 8 SIZE = 2^32
  0x09, 0x00, 0x20, ...new Array<number>(32).fill(0xab), // TLV 9 SHA256, 32 bytes of 0xAB
  0x00, 0x00, 0x00, // padding 77 → 80
]);

const SECRET = 'correct horse';
// SESSION_STATE with SEQ, TIMESTAMP and AUTH (SPEC §6); AUTH value still zero here.
function authPacketZeroed(): Buffer {
  return Buffer.from([
    0x91, 0xcc, 0x00, 0x10, // subtype 17 | APP | length 16 → 68 bytes
    0x00, 0x00, 0x00, 0x00, // SSRC 0
    0x52, 0x46, 0x4c, 0x58, // "RFLX"
    0x10, 0x00, 0x04, 0x00, 0x00, 0x00, 0x05, // TLV 16 SEQ = 5
    0x11, 0x00, 0x01, 0x73, // TLV 17 SESSION = "s"
    0x12, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, // TLV 18 RELAY_ID = 1
    0x13, 0x00, 0x04, 0x00, 0x00, 0x00, 0x02, // TLV 19 COUNT = 2
    0x14, 0x00, 0x08, 0x00, 0x00, 0x01, 0x8c, 0x00, 0x00, 0x00, 0x00, // TLV 20 TIMESTAMP = 0x18C00000000 ms
    0x15, 0x00, 0x10, ...new Array<number>(16).fill(0), // TLV 21 AUTH, 16 bytes, zeroed for the MAC
    0x00, // padding 67 → 68
  ]);
}
const AUTH_VALUE_OFFSET = 12 + 7 + 4 + 7 + 7 + 11 + 3; // = 51

function parsed(buf: Buffer): RflxMessage {
  const r = parseRflx(buf, 0, buf.length);
  if (typeof r === 'string') throw new Error(r);
  return r;
}

describe('rtp/rflx', () => {
  it('parses HELLO', () => {
    expect(parsed(HELLO)).to.deep.equal({
      subtype: RflxSubtype.Hello,
      ssrc: 0,
      fields: { reflectorId: 'r1', bootEpoch: 0x0102030405060708n },
    });
  });

  it('parses SESSION_STATE with padding', () => {
    expect(parsed(SESSION_STATE)).to.deep.equal({
      subtype: RflxSubtype.SessionState,
      ssrc: 0,
      fields: { session: 'weekly review', relayId: 0xcafebabe, count: 3 },
    });
  });

  it('parses SHARE_GRANT', () => {
    const m = parsed(SHARE_GRANT);
    expect(m.subtype).to.equal(RflxSubtype.ShareGrant);
    expect(m.fields.shareId).to.equal(0x11223344);
    expect(m.fields.port).to.equal(7000);
    expect(m.fields.passkey?.toString('hex')).to.equal('000102030405060708090a0b0c0d0e0f');
    expect(m.fields.address).to.equal('127.0.0.1');
    expect(m.fields.requestId).to.equal(7);
  });

  it('parses a FILE_REQUEST in any TLV order and skips unknown TLVs', () => {
    const m = parsed(FILE_REQUEST);
    expect(m.subtype).to.equal(RflxSubtype.FileRequest);
    expect(m.ssrc).to.equal(0x11223344);
    expect(Object.keys(m.fields).sort()).to.deep.equal(['name', 'requestId', 'sha256', 'size']);
    expect(m.fields.name).to.equal('a.txt');
    expect(m.fields.size).to.equal(0x100000000n);
    expect(m.fields.sha256?.equals(Buffer.alloc(32, 0xab))).to.equal(true);
  });

  it('copies byte fields out of the datagram', () => {
    const buf = Buffer.from(SHARE_GRANT);
    const m = parsed(buf);
    buf.fill(0);
    expect(m.fields.passkey?.[15]).to.equal(0x0f);
  });

  it('round-trips bytes → fields → bytes', () => {
    for (const pkt of [HELLO, SESSION_STATE, SHARE_GRANT]) {
      const m = parsed(pkt);
      expect(encodeRflx(m).toString('hex')).to.equal(pkt.toString('hex'));
    }
  });

  it('encodes every field type and parses it back', () => {
    const msg: RflxMessage = {
      subtype: RflxSubtype.PeerFileAnnounce,
      ssrc: 0xffffffff,
      fields: {
        title: 'tïtle ✓',
        shareId: 0xffffffff,
        port: 65535,
        passkey: Buffer.alloc(16, 1),
        address: '::1',
        sharer: 'Ann',
        name: 'file.bin',
        size: 0xffffffffffffffffn,
        sha256: Buffer.alloc(32, 2),
        fileId: 0,
        sender: 'Bob',
        code: 503,
        reason: 'pool exhausted',
        reflectorId: 'r2',
        bootEpoch: 1n,
        seq: 9,
        session: 'weekly review',
        relayId: 3,
        count: 0,
        timestamp: 1700000000000n,
        requestId: 42,
      },
    };
    expect(parsed(encodeRflx(msg))).to.deep.equal(msg);
  });

  it('refuses to encode values of the wrong type, range or size', () => {
    const bad: RflxMessage[] = [
      { subtype: 32, ssrc: 0, fields: {} },
      { subtype: 1, ssrc: -1, fields: {} },
      { subtype: 2, ssrc: 0, fields: { port: 65536 } },
      { subtype: 2, ssrc: 0, fields: { shareId: 1.5 } },
      { subtype: 2, ssrc: 0, fields: { passkey: Buffer.alloc(15) } },
      { subtype: 5, ssrc: 0, fields: { sha256: Buffer.alloc(31) } },
      { subtype: 5, ssrc: 0, fields: { size: -1n } },
      { subtype: 1, ssrc: 0, fields: { title: 'x'.repeat(65536) } },
    ];
    for (const m of bad) expect(() => encodeRflx(m), JSON.stringify(m, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)).slice(0, 80)).to.throw(RangeError);
  });

  describe('AUTH (SPEC §6)', () => {
    const msg: RflxMessage = {
      subtype: RflxSubtype.SessionState,
      ssrc: 0,
      fields: { seq: 5, session: 's', relayId: 1, count: 2, timestamp: 0x18c00000000n },
    };

    it('appends the first 16 bytes of HMAC-SHA256 over the packet with the AUTH value zeroed', () => {
      const expected = authPacketZeroed();
      // Independent MAC over the hand-built bytes.
      const mac = createHmac('sha256', SECRET).update(expected).digest();
      mac.copy(expected, AUTH_VALUE_OFFSET, 0, 16);
      expect(expected.length).to.equal(68);
      expect(encodeRflx(msg, SECRET).toString('hex')).to.equal(expected.toString('hex'));
      expect(verifyRflxAuth(expected, 0, expected.length, SECRET)).to.equal(true);
      expect(verifyRflxAuth(expected, 0, expected.length, Buffer.from(SECRET))).to.equal(true);
      expect(parsed(expected).fields.auth?.equals(mac.subarray(0, 16))).to.equal(true);
    });

    it('ignores a caller-supplied auth field when a secret is given', () => {
      const withJunk = encodeRflx({ ...msg, fields: { ...msg.fields, auth: Buffer.alloc(16, 0xff) } }, SECRET);
      expect(verifyRflxAuth(withJunk, 0, withJunk.length, SECRET)).to.equal(true);
    });

    it('verifies inside a compound packet at the APP offset', () => {
      const app = encodeRflx(msg, SECRET);
      const rr = Buffer.from([0x80, 0xc9, 0x00, 0x01, 0, 0, 0, 0]);
      const compound = Buffer.concat([rr, app]);
      const where = findRflxApp(compound);
      expect(where).to.deep.equal({ offset: 8, length: app.length });
      expect(verifyRflxAuth(compound, 8, app.length, SECRET)).to.equal(true);
    });

    it('rejects a wrong secret, any flipped bit, a missing AUTH and AUTH that is not last', () => {
      const good = encodeRflx(msg, SECRET);
      expect(verifyRflxAuth(good, 0, good.length, 'wrong')).to.equal(false);
      for (let i = 0; i < good.length; i++) {
        const flipped = Buffer.from(good);
        flipped[i] ^= 0x01;
        expect(verifyRflxAuth(flipped, 0, flipped.length, SECRET), `byte ${i}`).to.equal(false);
      }
      const unsigned = encodeRflx(msg);
      expect(verifyRflxAuth(unsigned, 0, unsigned.length, SECRET)).to.equal(false);
      const short = encodeRflx({ ...msg, fields: { ...msg.fields, auth: undefined } });
      expect(verifyRflxAuth(short, 0, short.length, SECRET)).to.equal(false);
      // AUTH followed by a TLV: hand-built.
      const notLast = Buffer.from([
        0x91, 0xcc, 0x00, 0x08, // subtype 17 | APP | length 8 → 36 bytes
        0x00, 0x00, 0x00, 0x00, // SSRC 0
        0x52, 0x46, 0x4c, 0x58, // "RFLX"
        0x15, 0x00, 0x10, ...new Array<number>(16).fill(0), // TLV 21 AUTH
        0x11, 0x00, 0x01, 0x73, // TLV 17 SESSION "s" after AUTH
        0x00, // padding 35 → 36
      ]);
      const mac = createHmac('sha256', SECRET).update(notLast).digest();
      mac.copy(notLast, 15, 0, 16);
      expect(verifyRflxAuth(notLast, 0, notLast.length, SECRET)).to.equal(false);
      expect(parseRflx(notLast, 0, notLast.length)).to.equal(RflxDrop.AuthNotLast);
    });
  });

  describe('finding RFLX in compound RTCP', () => {
    const rr = [0x80, 0xc9, 0x00, 0x01, 0x11, 0x22, 0x33, 0x44]; // RR, RC=0
    const sdes = [0x81, 0xca, 0x00, 0x02, 0x11, 0x22, 0x33, 0x44, 0x00, 0x00, 0x00, 0x00]; // SDES, empty chunk
    const test = [0x80, 0xcc, 0x00, 0x02, 0x11, 0x22, 0x33, 0x44, ...ascii('TEST')]; // APP "TEST"

    it('finds a bare APP and one after RR+SDES', () => {
      expect(findRflxApp(HELLO)).to.deep.equal({ offset: 0, length: 28 });
      const compound = Buffer.from([...rr, ...sdes, ...test, ...SESSION_STATE]);
      expect(findRflxApp(compound)).to.deep.equal({ offset: 32, length: 44 }); // 8 RR + 12 SDES + 12 APP "TEST"
      expect(findRflxAppOffset(compound)).to.equal(32);
      const m = parseRflx(compound, 32, 44);
      expect(typeof m === 'string' ? m : m.fields.session).to.equal('weekly review');
    });

    it('finds it after a relay shim offset', () => {
      const buf = Buffer.from([0x52, 0x10, 1, 0, 0, 0, 0, 1, ...rr, ...HELLO]);
      expect(findRflxApp(buf, 8)).to.deep.equal({ offset: 16, length: 28 });
    });

    it('answers null without RFLX or for a malformed compound', () => {
      expect(findRflxApp(Buffer.from([...rr, ...test]))).to.equal(null);
      expect(findRflxApp(Buffer.from([...HELLO, 0x80]))).to.equal(null);
      expect(findRflxApp(Buffer.from([...HELLO.subarray(0, 24)]))).to.equal(null);
      expect(findRflxAppOffset(Buffer.alloc(0))).to.equal(-1);
    });
  });

  const edit = (base: Buffer, at: number, ...bytes: number[]): Buffer => {
    const b = Buffer.from(base);
    bytes.forEach((v, i) => (b[at + i] = v));
    return b;
  };
  /** An RFLX header (SSRC 0) for the given subtype, then hand-written TLV bytes and zero padding. */
  const pkt = (subtype: number, tlvs: number[]): Buffer => {
    const total = Math.ceil((12 + tlvs.length) / 4) * 4;
    const body = [...tlvs, ...new Array<number>(total - 12 - tlvs.length).fill(0)];
    return Buffer.from([0x80 | subtype, 0xcc, 0x00, total / 4 - 1, 0, 0, 0, 0, ...ascii('RFLX'), ...body]);
  };
  const malformed: Array<[string, Buffer, RflxDropReason]> = [
    ['8 bytes', HELLO.subarray(0, 8), RflxDrop.TooShort],
    ['a length that is not a multiple of 4', Buffer.concat([HELLO, Buffer.from([0, 0])]), RflxDrop.BadLength],
    ['version 1', edit(HELLO, 0, 0x50), RflxDrop.BadVersion],
    ['the padding bit set', edit(HELLO, 0, 0xb0), RflxDrop.PaddingBit],
    ['PT 203 (BYE)', edit(HELLO, 1, 0xcb), RflxDrop.NotApp],
    ['a length field that disagrees', edit(HELLO, 3, 0x05), RflxDrop.BadLength],
    ['name "RFLY"', edit(HELLO, 11, 0x59), RflxDrop.BadName],
    ['subtype 9', edit(HELLO, 0, 0x89), RflxDrop.UnknownSubtype],
    ['subtype 0', edit(HELLO, 0, 0x80), RflxDrop.UnknownSubtype],
    ['a TLV value past the end', edit(HELLO, 18, 0x00, 0x09), RflxDrop.TlvTruncated],
    ['a TLV header cut by the end', pkt(17, [0x11, 0x00, 0x00, 0x13]), RflxDrop.TlvTruncated],
    ['PASSKEY of 15 bytes', pkt(2, [0x04, 0x00, 0x0f, ...new Array<number>(15).fill(1)]), RflxDrop.BadTlvLength],
    ['PORT of 4 bytes', pkt(2, [0x03, 0x00, 0x04, 0, 0, 0x1b, 0x58]), RflxDrop.BadTlvLength],
    ['SIZE of 4 bytes', pkt(5, [0x08, 0x00, 0x04, 0, 0, 0, 1]), RflxDrop.BadTlvLength],
    ['AUTH of 32 bytes', pkt(17, [0x15, 0x00, 0x20, ...new Array<number>(32).fill(0)]), RflxDrop.BadTlvLength],
    ['SESSION twice', pkt(17, [0x11, 0x00, 0x01, 0x61, 0x11, 0x00, 0x01, 0x62]), RflxDrop.DuplicateTlv],
    ['invalid UTF-8 in SESSION', pkt(17, [0x11, 0x00, 0x02, 0xc3, 0x28]), RflxDrop.BadUtf8],
    ['a host name in ADDRESS', pkt(3, [0x05, 0x00, 0x0b, ...ascii('example.com')]), RflxDrop.BadAddress],
    ['non-zero bytes after the type-0 terminator', pkt(17, [0x11, 0x00, 0x01, 0x61, 0x00, 0x00, 0x01, 0x00]), RflxDrop.BadPadding],
    ['a whole zero word of padding', pkt(17, [0x11, 0x00, 0x01, 0x61, 0, 0, 0, 0]), RflxDrop.BadPadding],
    [
      'a TLV after AUTH',
      pkt(17, [0x15, 0x00, 0x10, ...new Array<number>(16).fill(0), 0x63, 0x00, 0x00]),
      RflxDrop.AuthNotLast,
    ],
  ];
  for (const [name, bytes, reason] of malformed) {
    it(`drops ${name} as ${reason}`, () => {
      expect(parseRflx(bytes, 0, bytes.length)).to.equal(reason);
    });
  }

  it('rejects offset/length outside the buffer', () => {
    expect(parseRflx(HELLO, 4, 28)).to.equal(RflxDrop.TooShort);
    expect(parseRflx(HELLO, -4, 28)).to.equal(RflxDrop.TooShort);
    expect(verifyRflxAuth(HELLO, 4, 28, SECRET)).to.equal(false);
  });

  it('accepts an empty TLV list and a zero-length UTF-8 value', () => {
    expect(parsed(pkt(16, []))).to.deep.equal({ subtype: 16, ssrc: 0, fields: {} });
    expect(parsed(pkt(1, [0x01, 0x00, 0x00])).fields).to.deep.equal({ title: '' });
  });

  it('drop reasons are stable snake_case strings', () => {
    for (const v of Object.values(RflxDrop)) expect(v).to.match(/^rflx_[a-z0-9_]+$/);
  });

  it(`never throws on ${FUZZ_COUNT} random, truncated and bit-flipped inputs`, function () {
    this.timeout(120_000);
    const reasons = new Set<string>(Object.values(RflxDrop));
    const signed = encodeRflx(
      { subtype: RflxSubtype.SessionState, ssrc: 0, fields: { seq: 1, session: 's', relayId: 1, count: 1, timestamp: 1n } },
      SECRET,
    );
    let ok = 0;
    let bad = 0;
    forEachFuzzInput(0x5eed0005, FUZZ_COUNT, [HELLO, SESSION_STATE, SHARE_GRANT, FILE_REQUEST, signed], (buf) => {
      const r = parseRflx(buf, 0, buf.length);
      if (typeof r === 'string') {
        if (!reasons.has(r)) bad++;
      } else {
        ok++;
      }
      const at = findRflxApp(buf);
      if (at !== null) {
        parseRflx(buf, at.offset, at.length);
        if (verifyRflxAuth(buf, at.offset, at.length, SECRET) && !buf.subarray(at.offset, at.offset + at.length).equals(signed)) bad++;
      }
    });
    expect(bad).to.equal(0);
    expect(ok).to.be.greaterThan(100);
  });
});
