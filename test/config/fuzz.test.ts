import { expect } from 'chai';
import { tmpdir } from 'node:os';
import { parseConfigText } from '../../src/config/load.js';
import { CONFIG_KEYWORDS } from '../../src/config/schema.js';
import { prng } from '../helpers/prng.js';

const TOKENS = [
  '0', '1', '2', '80', '5564', '5566', '65534', '65535', '65536', '-1', '1e3', '0x10', 'NaN', 'Infinity', '99999999999999999999',
  '5570-5573', '7000-7100', '1-2', '9-1', 'a-b', '-', 'on', 'off', 'ON', 'udp', 'tcp', 'tls', 'MD5', 'SHA-256', 'sha-256',
  'all', '10.0.0.0/8', '10.0.0.1/8', '::/0', '::1', '::', '0.0.0.0', '127.0.0.2', '127.0.0.3', '[::1]:80', '127.0.0.1:0', ':80',
  `HA1:${'a'.repeat(32)}`, `HA1-SHA256:${'b'.repeat(64)}`, 'HA1:zz', 'HA1-SHA256:', 'reflect', 'mix', 'PCMU', 'opus', '100M', '1G', '5KiB',
  'debug', 'info', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'é', '日本', '\u200b', '"', '\\', tmpdir(), '/nonexistent/x',
];

describe('config parsing never throws (fuzz)', () => {
  it('random bytes', () => {
    const rnd = prng(0xc0ffee);
    for (let i = 0; i < 300; i++) {
      const bytes = Buffer.alloc(Math.floor(rnd() * 600));
      for (let j = 0; j < bytes.length; j++) bytes[j] = rnd() < 0.2 ? 0x0a : Math.floor(rnd() * 256);
      const text = bytes.toString('utf8');
      const { config, issues } = parseConfigText(text, 'fuzz.conf');
      expect(config === null).to.equal(issues.length > 0);
    }
  });

  it('random lines of real keywords and tricky arguments', () => {
    const rnd = prng(12345);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)];
    let valid = 0;
    for (let i = 0; i < 600; i++) {
      const lines: string[] = [];
      const count = 1 + Math.floor(rnd() * 12);
      for (let l = 0; l < count; l++) {
        const kw = pick(CONFIG_KEYWORDS);
        const word = rnd() < 0.3 ? kw.toLowerCase() : kw;
        const args = Array.from({ length: Math.floor(rnd() * 4) }, () => pick(TOKENS));
        lines.push(`${word} ${args.join(rnd() < 0.5 ? ' ' : '\t')}${rnd() < 0.2 ? ' # c' : ''}`);
      }
      const { config, issues } = parseConfigText(lines.join(rnd() < 0.5 ? '\n' : '\r\n'), 'fuzz.conf');
      expect(config === null).to.equal(issues.length > 0);
      for (const issue of issues) {
        expect(issue.line).to.be.within(0, count);
        expect(issue.message).to.match(/expected/);
      }
      if (config !== null) {
        valid++;
        expect(Object.isFrozen(config)).to.equal(true);
      }
    }
    expect(valid).to.be.above(0); // the generator reaches the cross-keyword rules too
  });
});
