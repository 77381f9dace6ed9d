import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseConfigText, resolveConfig } from '../../src/config/load.js';

/** The CommonJS view of node:os; assigning to it and syncing changes what ESM importers see. */
const os = createRequire(import.meta.url)('node:os') as { networkInterfaces: () => unknown };

describe('config where interfaces cannot be listed (systemd without AF_NETLINK)', () => {
  const original = os.networkInterfaces;
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cfg-nonl-'));
    os.networkInterfaces = () => { throw new Error('A system error occurred: uv_interface_addresses returned Unknown system error 97'); };
    syncBuiltinESMExports();
  });
  afterEach(() => {
    os.networkInterfaces = original;
    syncBuiltinESMExports();
    rmSync(dir, { recursive: true, force: true });
  });

  it('parseConfigText reports one issue instead of throwing', () => {
    const { config, issues } = parseConfigText('LISTEN_ADDRESS 127.0.0.2\n', 'r.conf');
    expect(config).to.equal(null);
    expect(issues).to.have.length(1);
    expect(issues[0]).to.include({ file: 'r.conf', line: 0 });
    expect(issues[0].message).to.match(/network interfaces.*AF_NETLINK/);
  });

  it('resolveConfig without a file throws ConfigError, not a system error', () => {
    expect(() => resolveConfig(undefined, dir)).to.throw(ConfigError);
  });
});
