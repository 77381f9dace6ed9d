import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultConfig } from '../../src/config/defaults.js';
import { makeTestCert } from '../helpers/tls-cert.js';
import { checkConfigFile, parseConfigText } from '../../src/config/load.js';
import { CONFIG_KEYWORDS, REPEATABLE_KEYWORDS } from '../../src/config/schema.js';
import type { Config } from '../../src/config/types.js';
import { useTempDir } from '../helpers/temp-dir.js';

/** The shipped example at the repository root, seen from dist/test/config/. */
const EXAMPLE = fileURLToPath(new URL('../../../reflector.conf.example', import.meta.url));

/** `#KEYWORD value` lines: the defaults (or examples) the file shows. */
const SHOWN = /^#([A-Z][A-Z0-9_]*)(?=[ \t]|$)/;

describe('reflector.conf.example', () => {
  const text = readFileSync(EXAMPLE, 'utf8');
  const tempDir = useTempDir('cfg-example-');

  it('parses with zero issues', () => {
    expect(checkConfigFile(EXAMPLE)).to.deep.equal([]);
  });

  it('as shipped gives the built-in defaults: no peers, nothing sent off the host', () => {
    const { config } = parseConfigText(text, EXAMPLE);
    expect(config).to.deep.equal({ ...defaultConfig(), source: EXAMPLE });
    expect(config?.peers).to.deep.equal([]);
    expect(text).to.match(/^#REFLECTOR_INTERCONNECTION 10\.11\.12\.14 5564$/m);
  });

  it('shows every keyword of the schema as a #KEYWORD line, non-repeatable ones once', () => {
    const shown = text.split('\n').map((l) => SHOWN.exec(l)?.[1]).filter((k): k is string => k !== undefined);
    expect(CONFIG_KEYWORDS.filter((k) => !shown.includes(k)), 'missing').to.deep.equal([]);
    expect(shown.filter((k) => !(CONFIG_KEYWORDS as readonly string[]).includes(k)), 'not keywords').to.deep.equal([]);
    const twice = CONFIG_KEYWORDS.filter((k) => !REPEATABLE_KEYWORDS.has(k) && shown.filter((s) => s === k).length > 1);
    expect(twice, 'non-repeatable shown twice').to.deep.equal([]);
  });

  it('every #KEYWORD line is valid once uncommented, and shows the real default', () => {
    const users = join(tempDir(), 'users');
    writeFileSync(users, 'dave pw\n');
    const tls = makeTestCert(tempDir());
    const uncommented = text.split('\n')
      .map((l) => (SHOWN.test(l) ? l.slice(1) : l))
      .map((l) => (l.startsWith('SIP_USERS_FILE ') ? `SIP_USERS_FILE ${users}` : l))
      // TLS files: a test-only certificate made now, since the example's paths do not exist here.
      .map((l) => (l.startsWith('TLS_CERT ') ? `TLS_CERT ${tls.cert}` : l.startsWith('TLS_KEY ') ? `TLS_KEY ${tls.key}` : l))
      .join('\n');
    const { config, issues } = parseConfigText(uncommented, join(tempDir(), 'reflector.conf'));
    expect(issues).to.deep.equal([]);
    const c = config as Config;
    const d = defaultConfig();
    const keys = ['listenAddress', 'sipPort', 'sipTransports', 'sipAuth', 'sipDigestAlgorithms', 'audioPort', 'videoPort',
      'keepalivePorts', 'checkipPort', 'fileTransferPort', 'appshareServerPorts', 'appshareClientPorts', 'inactivityTimeoutS',
      'maxSessions', 'maxParticipants', 'maxParticipantsPerSession', 'audioMode', 'audioCodecs', 'videoCodecs', 'fileMaxBytes',
      'fileTtlS', 'statusListen', 'logLevel', 'sipTlsPort', 'srtp'] as const;
    for (const k of keys) expect(c[k], k).to.deep.equal(d[k]);
    expect(c.sipRealm).to.equal(c.reflectorId); // the example realm shows "defaults to REFLECTOR_ID"
    expect(c.peers.map((p) => p.address)).to.deep.equal(['10.11.12.14', '10.11.12.15']);
  });
});
