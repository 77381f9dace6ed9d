import { expect } from 'chai';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { parseConfigText, resolveConfig } from '../../src/config/load.js';
import { useTempDir } from '../helpers/temp-dir.js';

/** The CommonJS view of node:os; assigning to it and syncing changes what ESM importers see. */
const os = createRequire(import.meta.url)('node:os') as { networkInterfaces: () => unknown };

describe('config where interfaces cannot be listed (systemd without AF_NETLINK)', () => {
  const original = os.networkInterfaces;
  const tempDir = useTempDir('cfg-nonl-');
  beforeEach(() => {
    os.networkInterfaces = () => { throw new Error('A system error occurred: uv_interface_addresses returned Unknown system error 97'); };
    syncBuiltinESMExports();
  });
  afterEach(() => {
    os.networkInterfaces = original;
    syncBuiltinESMExports();
  });

  it('parseConfigText still parses: a specific LISTEN_ADDRESS is the PUBLIC_ADDRESS', () => {
    const { config, issues } = parseConfigText('LISTEN_ADDRESS 127.0.0.2\n', 'r.conf');
    expect(issues).to.deep.equal([]);
    expect(config?.publicAddress).to.equal('127.0.0.2');
  });

  it('resolveConfig without a file falls back to 127.0.0.1 as PUBLIC_ADDRESS instead of throwing', () => {
    const config = resolveConfig(undefined, tempDir());
    expect(config.listenAddress).to.equal('0.0.0.0');
    expect(config.publicAddress).to.equal('127.0.0.1');
  });
});
