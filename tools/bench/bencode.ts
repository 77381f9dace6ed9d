/**
 * Bencode (the encoding of rtpengine's ng control protocol): integers, byte
 * strings, lists and dictionaries. Strings decode as latin1 JS strings (the ng
 * replies we read are ASCII: result, sdp, error-reason). The decoder is bounded
 * (input length, nesting depth) and throws a RangeError on anything malformed.
 */

export type BValue = number | string | BValue[] | { [key: string]: BValue };

const MAX_DEPTH = 32;

export function bencode(v: BValue): Buffer {
  const parts: Buffer[] = [];
  const put = (x: BValue, depth: number): void => {
    if (depth > MAX_DEPTH) throw new RangeError('bencode: too deep');
    if (typeof x === 'number') {
      if (!Number.isInteger(x)) throw new RangeError(`bencode: not an integer: ${x}`);
      parts.push(Buffer.from(`i${x}e`, 'latin1'));
    } else if (typeof x === 'string') {
      const b = Buffer.from(x, 'utf8');
      parts.push(Buffer.from(`${b.length}:`, 'latin1'), b);
    } else if (Array.isArray(x)) {
      parts.push(Buffer.from('l', 'latin1'));
      for (const e of x) put(e, depth + 1);
      parts.push(Buffer.from('e', 'latin1'));
    } else {
      parts.push(Buffer.from('d', 'latin1'));
      // Keys in sorted order, as bencode requires.
      for (const k of Object.keys(x).sort()) {
        put(k, depth + 1);
        put(x[k] as BValue, depth + 1);
      }
      parts.push(Buffer.from('e', 'latin1'));
    }
  };
  put(v, 0);
  return Buffer.concat(parts);
}

export function bdecode(buf: Buffer): BValue {
  let i = 0;
  const fail = (why: string): never => {
    throw new RangeError(`bdecode: ${why} at ${i}`);
  };
  const digits = (end: number): number => {
    const start = i;
    while (i < buf.length && buf[i] !== end) i++;
    if (i >= buf.length) fail('unterminated number');
    const text = buf.toString('latin1', start, i);
    if (!/^-?\d{1,15}$/.test(text)) fail(`bad number ${text.slice(0, 20)}`);
    i++; // the terminator
    return Number(text);
  };
  const value = (depth: number): BValue => {
    if (depth > MAX_DEPTH) fail('too deep');
    if (i >= buf.length) fail('truncated');
    const c = buf[i] as number;
    if (c === 0x69 /* i */) {
      i++;
      return digits(0x65 /* e */);
    }
    if (c === 0x6c /* l */) {
      i++;
      const out: BValue[] = [];
      while (i < buf.length && buf[i] !== 0x65) out.push(value(depth + 1));
      if (i >= buf.length) fail('unterminated list');
      i++;
      return out;
    }
    if (c === 0x64 /* d */) {
      i++;
      const out: { [key: string]: BValue } = {};
      while (i < buf.length && buf[i] !== 0x65) {
        const k = value(depth + 1);
        if (typeof k !== 'string') fail('dictionary key is not a string');
        out[k as string] = value(depth + 1);
      }
      if (i >= buf.length) fail('unterminated dictionary');
      i++;
      return out;
    }
    if (c >= 0x30 && c <= 0x39) {
      const len = digits(0x3a /* : */);
      if (len < 0 || i + len > buf.length) fail('string past the end');
      const s = buf.toString('latin1', i, i + len);
      i += len;
      return s;
    }
    return fail(`unexpected byte 0x${c.toString(16)}`);
  };
  const v = value(0);
  if (i !== buf.length) fail('trailing bytes');
  return v;
}
