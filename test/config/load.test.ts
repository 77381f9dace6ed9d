import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConfig } from '../../src/config/defaults.js';
import { ConfigError, checkConfigFile, loadConfigFile, parseConfigText, resolveConfig } from '../../src/config/load.js';
import { MAX_CONFIG_BYTES } from '../../src/config/line-parser.js';
import * as configModule from '../../src/config/index.js';
import { useTempDir } from '../helpers/temp-dir.js';

describe('config loading from files', () => {
  const tempDir = useTempDir('cfg-load-');

  const write = (name: string, text: string | Buffer): string => {
    const path = join(tempDir(), name);
    writeFileSync(path, text);
    return path;
  };

  it('index.ts exports the loader surface', () => {
    expect(configModule.loadConfigFile).to.equal(loadConfigFile);
    expect(configModule.ConfigError).to.equal(ConfigError);
    for (const name of ['parseConfigText', 'resolveConfig', 'checkConfigFile', 'formatIssue', 'defaultConfig'] as const) {
      expect(configModule[name], name).to.be.a('function');
    }
    expect(configModule.CONFIG_KEYWORDS).to.include('REFLECTOR_INTERCONNECTION');
  });

  it('loadConfigFile returns the frozen config with its source', () => {
    const file = write('r.conf', 'REFLECTOR_ID r9\nLISTEN_ADDRESS 127.0.0.9\n');
    const c = loadConfigFile(file);
    expect([c.source, c.reflectorId, c.listenAddress, c.publicAddress]).to.deep.equal([file, 'r9', '127.0.0.9', '127.0.0.9']);
    expect(Object.isFrozen(c)).to.equal(true);
  });

  it('loadConfigFile throws one ConfigError carrying every issue', () => {
    const file = write('bad.conf', 'AUDIO_PORT x\nLOG_LEVEL y\n');
    let caught: unknown;
    try { loadConfigFile(file); } catch (err) { caught = err; }
    expect(caught).to.be.instanceOf(ConfigError);
    const err = caught as ConfigError;
    expect(err.code).to.equal('ERR_CONFIG');
    expect(err.issues.map((i) => [i.file, i.line, i.keyword])).to.deep.equal([[file, 1, 'AUDIO_PORT'], [file, 2, 'LOG_LEVEL']]);
    expect(err.message).to.contain(`${file}:1`);
  });

  it('an unreadable file is one issue at line 0', () => {
    const missing = join(tempDir(), 'missing.conf');
    const issues = checkConfigFile(missing);
    expect(issues).to.have.length(1);
    expect(issues[0]).to.include({ file: missing, line: 0 });
    expect(issues[0].message).to.match(/^expected a readable regular file of at most 1048576 bytes \(1 MiB\): ENOENT/);
    expect(() => loadConfigFile(missing)).to.throw(ConfigError);
  });

  it('a directory, a FIFO and a file over 1 MiB are refused without reading them', () => {
    const sub = join(tempDir(), 'sub');
    mkdirSync(sub);
    expect(checkConfigFile(sub).map((i) => [i.line, i.message])).to.deep.equal([[0, `expected a readable regular file of at most 1048576 bytes (1 MiB): ${sub} is not a regular file`]]);
    const fifo = join(tempDir(), 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(checkConfigFile(fifo).map((i) => [i.line, i.message])).to.deep.equal([[0, `expected a readable regular file of at most 1048576 bytes (1 MiB): ${fifo} is not a regular file`]]);
    const big = write('big.conf', Buffer.alloc(MAX_CONFIG_BYTES + 1, 0x23));
    expect(checkConfigFile(big)).to.have.length(1);
    expect(checkConfigFile(big)[0].message).to.match(/at most 1048576 bytes.*has 1048577 bytes$/);
  });

  it('checkConfigFile returns no issues for a valid file', () => {
    expect(checkConfigFile(write('ok.conf', 'LOG_LEVEL debug\n'))).to.deep.equal([]);
  });

  describe('resolveConfig (SPEC §2)', () => {
    it('uses --config FILE, relative to cwd', () => {
      write('given.conf', 'REFLECTOR_ID given\n');
      expect(resolveConfig('given.conf', tempDir()).reflectorId).to.equal('given');
    });

    it('else ./reflector.conf when present', () => {
      write('reflector.conf', 'REFLECTOR_ID local\n');
      const c = resolveConfig(undefined, tempDir());
      expect(c.reflectorId).to.equal('local');
      expect(c.source).to.equal(join(tempDir(), 'reflector.conf'));
    });

    it('else the built-in defaults, frozen and without a source', () => {
      const c = resolveConfig(undefined, tempDir());
      expect(c).to.deep.equal(defaultConfig());
      expect(c.source).to.equal(undefined);
      expect(Object.isFrozen(c.keepalivePorts)).to.equal(true);
    });

    it('a named file that does not exist is an error, not the defaults', () => {
      expect(() => resolveConfig('nope.conf', tempDir())).to.throw(ConfigError);
    });

    it('throws ConfigError for an invalid ./reflector.conf', () => {
      write('reflector.conf', 'NOPE 1\n');
      expect(() => resolveConfig(undefined, tempDir())).to.throw(ConfigError);
    });
  });

  describe('SIP_USERS_FILE', () => {
    it('reads name secret lines in all three forms, relative to the config file', () => {
      write('users', `# team\nalice pw1   # comment\nbob HA1:${'c'.repeat(32)}\n\ncarol HA1-SHA256:${'D'.repeat(64)}\n`);
      const c = loadConfigFile(write('r.conf', 'SIP_AUTH on\nSIP_DIGEST_ALGORITHMS SHA-256 MD5\nSIP_USER zed pw0\nSIP_USERS_FILE users\n'));
      expect(c.sipUsersFile).to.equal(join(tempDir(), 'users'));
      expect(c.sipUsers).to.deep.equal([
        { name: 'zed', password: 'pw0' },
        { name: 'alice', password: 'pw1' },
        { name: 'bob', ha1Md5: 'c'.repeat(32) },
        { name: 'carol', ha1Sha256: 'd'.repeat(64) },
      ]);
    });

    it('errors inside the users file name that file and its line', () => {
      const users = write('users', 'alice pw\nbob\n# ok\ncarol HA1:123\nX\x01 y\nda:ve pw\n');
      const conf = write('r.conf', 'LOG_LEVEL info\nSIP_USERS_FILE users\n');
      const { config, issues } = parseConfigText('LOG_LEVEL info\nSIP_USERS_FILE users\n', conf);
      expect(config).to.equal(null);
      expect(issues.map((i) => [i.file, i.line, i.keyword])).to.deep.equal([
        [users, 2, 'SIP_USERS_FILE'], [users, 4, 'SIP_USERS_FILE'], [users, 5, 'SIP_USERS_FILE'], [users, 6, 'SIP_USERS_FILE'],
      ]);
      expect(issues[0].message).to.match(/name secret/);
      expect(issues[1].message).to.match(/32 hex digits/);
      expect(issues[2].message).to.match(/printable text/);
      expect(issues[3].message).to.match(/user name/);
    });

    it('issues of the config file come before those of the users file', () => {
      const users = write('users', 'bob\n');
      const conf = join(tempDir(), 'r.conf');
      const { issues } = parseConfigText('SIP_USERS_FILE users\nLOG_LEVEL x\n', conf);
      expect(issues.map((i) => [i.file, i.line])).to.deep.equal([[conf, 2], [users, 1]]);
    });

    it('a name in both SIP_USER and the users file is an error in the users file', () => {
      const users = write('users', 'alice pw2\n');
      const { issues } = parseConfigText('SIP_USER alice pw1\nSIP_USERS_FILE users\n', join(tempDir(), 'r.conf'));
      expect(issues.map((i) => [i.file, i.line])).to.deep.equal([[users, 1]]);
    });

    it('a name twice in the users file is an error on its second line', () => {
      const users = write('users', 'alice pw1\nbob x\nalice pw2\n');
      const { issues } = parseConfigText('SIP_USERS_FILE users\n', join(tempDir(), 'r.conf'));
      expect(issues.map((i) => [i.file, i.line])).to.deep.equal([[users, 3]]);
      expect(issues[0].message).to.match(/user name once.*"alice"/);
    });

    it('a missing users file is one issue on the SIP_USERS_FILE line of the config', () => {
      const conf = join(tempDir(), 'r.conf');
      const { issues } = parseConfigText('SIP_AUTH on\n\nSIP_USERS_FILE /nonexistent/users\n', conf);
      expect(issues.map((i) => [i.file, i.line, i.keyword])).to.deep.equal([[conf, 3, 'SIP_USERS_FILE']]);
      expect(issues[0].message).to.match(/ENOENT.*\/nonexistent\/users/);
    });

    it('an empty users file with SIP_AUTH on is one issue on the SIP_USERS_FILE line', () => {
      write('users', '# nobody yet\n');
      const conf = join(tempDir(), 'r.conf');
      const { issues } = parseConfigText('SIP_AUTH on\nSIP_USERS_FILE users\n', conf);
      expect(issues.map((i) => [i.file, i.line, i.keyword])).to.deep.equal([[conf, 2, 'SIP_USERS_FILE']]);
    });

    it('a users file that is a directory is refused', () => {
      mkdirSync(join(tempDir(), 'users.d'));
      const { issues } = parseConfigText('SIP_USERS_FILE users.d\n', join(tempDir(), 'r.conf'));
      expect(issues).to.have.length(1);
      expect(issues[0].message).to.match(/regular file/);
    });
  });
});
