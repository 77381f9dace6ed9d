/** The version reported by the status API is package.json's. */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { VERSION } from '../../src/runtime/version.js';

describe('runtime/version', () => {
  it('equals package.json version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(VERSION).to.equal(pkg.version);
  });
});
