import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig, firstExternalIpv4, reflectorIoFromEnv } from '../../src/config/defaults.js';
import { parseConfigText } from '../../src/config/load.js';
import { CONFIG_KEYWORDS } from '../../src/config/schema.js';
import type { Config } from '../../src/config/types.js';
import { makeTestCert } from '../helpers/tls-cert.js';
import { useTempDir } from '../helpers/temp-dir.js';

const MD5_HA1 = '0123456789abcdef0123456789abcdef';
const SHA_HA1 = 'ab'.repeat(32);

/** Every keyword of SPEC §3 with a value other than its default; SIP_USERS_FILE is `users` next to the file. */
const FULL = `
SIP_USERS_FILE users
REFLECTOR_ID r2-dmz
LISTEN_ADDRESS 127.0.0.2
PUBLIC_ADDRESS 192.0.2.10
SIP_PORT 5070
SIP_TRANSPORTS tcp
SIP_TLS_PORT 5071
TLS_CERT tls-cert.pem
TLS_KEY tls-key.pem
SRTP required
SIP_REALM conference.example
SIP_AUTH on
SIP_DIGEST_ALGORITHMS SHA-256 md5
SIP_USER alice s3cret
SIP_USER bob HA1:${MD5_HA1.toUpperCase()}
SIP_USER carol HA1-SHA256:${SHA_HA1}
HOSTS_ALLOW 10.0.0.0/8 192.168.0.0/16
HOSTS_ALLOW 2001:db8::/32
HOSTS_DENY all
AUDIO_PORT 6566
VIDEO_PORT 6568
KEEPALIVE_PORTS 6570-6573
CHECKIP_PORT 12341
FILE_TRANSFER_PORT 6565
APPSHARE_SERVER_PORTS 8000-8010
APPSHARE_CLIENT_PORTS 9000-9010
REFLECTOR_INTERCONNECTION 127.0.0.3 5564 peer-secret
REFLECTOR_INTERCONNECTION 127.0.0.4 5564
INTERCONNECTION_SECRET shared-secret
ICE off
MEDIA_WORKERS 3
INACTIVITY_TIMEOUT 30
DRAIN_TIMEOUT 20
MAX_SESSIONS 10
MAX_PARTICIPANTS 50
MAX_PARTICIPANTS_PER_SESSION 5
AUDIO_MODE mix
AUDIO_CODECS PCMA PCMU
VIDEO_CODECS VP8
FILE_SPOOL_DIR spool
FILE_MAX_BYTES 2M
FILE_TTL 60
STATUS_LISTEN 127.0.0.2:9090
ADMIN_TOKEN t0ken-t0ken
LOG_LEVEL debug
`;

const EXPECTED: Config = {
  source: '/etc/rtp/reflector.conf',
  reflectorId: 'r2-dmz',
  listenAddress: '127.0.0.2',
  publicAddress: '192.0.2.10',
  sipPort: 5070,
  sipTransports: ['tcp'],
  sipTlsPort: 5071,
  tlsCert: '/etc/rtp/tls-cert.pem',
  tlsKey: '/etc/rtp/tls-key.pem',
  srtp: 'required',
  sipRealm: 'conference.example',
  sipAuth: true,
  sipDigestAlgorithms: ['SHA-256', 'MD5'],
  sipUsers: [{ name: 'alice', password: 's3cret' }, { name: 'bob', ha1Md5: MD5_HA1 }, { name: 'carol', ha1Sha256: SHA_HA1 }, { name: 'dave', password: 'pw' }],
  sipUsersFile: '/etc/rtp/users',
  hostsAllow: [
    { family: 4, address: '10.0.0.0', prefix: 8 },
    { family: 4, address: '192.168.0.0', prefix: 16 },
    { family: 6, address: '2001:db8::', prefix: 32 },
  ],
  hostsDeny: [{ family: 4, address: '0.0.0.0', prefix: 0 }, { family: 6, address: '::', prefix: 0 }],
  audioPort: 6566,
  videoPort: 6568,
  keepalivePorts: { first: 6570, last: 6573 },
  checkipPort: 12341,
  fileTransferPort: 6565,
  appshareServerPorts: { first: 8000, last: 8010 },
  appshareClientPorts: { first: 9000, last: 9010 },
  peers: [
    { address: '127.0.0.3', rtpRelayPort: 5564, secret: 'peer-secret' },
    { address: '127.0.0.4', rtpRelayPort: 5564, secret: 'shared-secret' },
  ],
  interconnectionSecret: 'shared-secret',
  ice: false,
  mediaWorkers: 3,
  inactivityTimeoutS: 30,
  drainTimeoutS: 20,
  maxSessions: 10,
  maxParticipants: 50,
  maxParticipantsPerSession: 5,
  audioMode: 'mix',
  audioCodecs: ['PCMA', 'PCMU'],
  videoCodecs: ['VP8'],
  fileSpoolDir: '/etc/rtp/spool',
  fileMaxBytes: 2 * 1024 * 1024,
  fileTtlS: 60,
  statusListen: { address: '127.0.0.2', port: 9090 },
  adminToken: 't0ken-t0ken',
  logLevel: 'debug',
  // Not a keyword: the environment variable REFLECTOR_IO (unset in CI: auto).
  reflectorIo: reflectorIoFromEnv(),
};

function parseOk(text: string, file = '/etc/rtp/reflector.conf'): Config {
  const { config, issues } = parseConfigText(text, file);
  expect(issues, JSON.stringify(issues)).to.deep.equal([]);
  expect(config).to.not.equal(null);
  return config as Config;
}

function isDeepFrozen(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return true;
  return Object.isFrozen(v) && Object.values(v).every(isDeepFrozen);
}

describe('config keywords', () => {
  const tempDir = useTempDir('cfg-kw-', {
    setup: (dir) => {
      writeFileSync(join(dir, 'users'), '# users\ndave pw\n');
      makeTestCert(dir);
    },
  });

  /** EXPECTED as seen from a file in `dir`. */
  const expectedIn = (d: string): Config => ({
    ...EXPECTED, source: join(d, 'reflector.conf'), sipUsersFile: join(d, 'users'), fileSpoolDir: join(d, 'spool'),
    tlsCert: join(d, 'tls-cert.pem'), tlsKey: join(d, 'tls-key.pem'),
  });

  it('the full example names every keyword of the schema', () => {
    const used = new Set(FULL.split('\n').map((l) => l.split(' ')[0]).filter((w) => w !== ''));
    expect([...CONFIG_KEYWORDS].filter((k) => !used.has(k))).to.deep.equal([]);
  });

  it('parses every keyword into the typed Config', () => {
    expect(parseOk(FULL, join(tempDir(), 'reflector.conf'))).to.deep.equal(expectedIn(tempDir()));
  });

  it('returns a deep-frozen object', () => {
    const config = parseOk(FULL, join(tempDir(), 'reflector.conf'));
    expect(isDeepFrozen(config)).to.equal(true);
    expect(() => { (config.peers[0] as { address: string }).address = 'x'; }).to.throw(TypeError);
    expect(() => { (config.sipUsers as unknown[]).push({}); }).to.throw(TypeError);
  });

  it('an empty file yields the built-in defaults with the source set', () => {
    const config = parseOk('# nothing\n', 'empty.conf');
    expect(config).to.deep.equal({ ...defaultConfig(), source: 'empty.conf' });
    expect(config.reflectorId).to.equal(hostname() || 'reflector');
    expect(config.fileSpoolDir).to.equal(tmpdir());
    expect(config.statusListen).to.deep.equal({ address: '127.0.0.1', port: 8080 });
    expect(isDeepFrozen(config)).to.equal(true);
  });

  it('SIP_REALM defaults to REFLECTOR_ID', () => {
    expect(parseOk('REFLECTOR_ID edge-1\n').sipRealm).to.equal('edge-1');
    expect(parseOk('REFLECTOR_ID edge-1\nSIP_REALM other\n').sipRealm).to.equal('other');
  });

  it('PUBLIC_ADDRESS defaults to a specific LISTEN_ADDRESS, else the first external IPv4', () => {
    expect(parseOk('LISTEN_ADDRESS 127.0.0.5\n').publicAddress).to.equal('127.0.0.5');
    expect(parseOk('LISTEN_ADDRESS ::1\n').publicAddress).to.equal('::1');
    expect(parseOk('LISTEN_ADDRESS 0.0.0.0\n').publicAddress).to.equal(firstExternalIpv4());
    expect(parseOk('LISTEN_ADDRESS ::\n').publicAddress).to.equal(firstExternalIpv4());
  });

  it('keywords and enumerated values are case-insensitive', () => {
    const c = parseOk('sip_auth OFF\nsip_transports UDP\naudio_mode MIX\nlog_level WARN\nSip_Digest_Algorithms sha-256\n');
    expect([c.sipAuth, c.sipTransports, c.audioMode, c.logLevel, c.sipDigestAlgorithms]).to.deep.equal([false, ['udp'], 'mix', 'warn', ['SHA-256']]);
  });

  it('STATUS_LISTEN off, IPv6 in brackets, and port 0 for any free port', () => {
    expect(parseOk('STATUS_LISTEN off\n').statusListen).to.equal(undefined);
    expect('statusListen' in parseOk('STATUS_LISTEN OFF\n')).to.equal(false);
    expect(parseOk('STATUS_LISTEN [::1]:8081\n').statusListen).to.deep.equal({ address: '::1', port: 8081 });
    expect(parseOk('STATUS_LISTEN 127.0.0.9:0\n').statusListen).to.deep.equal({ address: '127.0.0.9', port: 0 });
  });

  it('FILE_MAX_BYTES takes bytes or a binary K/M/G suffix', () => {
    const sizes: [string, number][] = [['1', 1], ['1000', 1000], ['4K', 4096], ['4KiB', 4096], ['3m', 3 * 2 ** 20], ['3MiB', 3 * 2 ** 20], ['2G', 2 * 2 ** 30], ['2gib', 2 * 2 ** 30]];
    for (const [text, bytes] of sizes) expect(parseOk(`FILE_MAX_BYTES ${text}\n`).fileMaxBytes, text).to.equal(bytes);
  });

  it('relative FILE_SPOOL_DIR is taken from the config file directory, absolute is kept', () => {
    expect(parseOk('FILE_SPOOL_DIR a/b\n', '/srv/r/reflector.conf').fileSpoolDir).to.equal('/srv/r/a/b');
    expect(parseOk('FILE_SPOOL_DIR /var/lib/x\n', '/srv/r/reflector.conf').fileSpoolDir).to.equal('/var/lib/x');
  });

  it('peers fall back to INTERCONNECTION_SECRET wherever it is written, else have no secret', () => {
    const c = parseOk('REFLECTOR_INTERCONNECTION 127.0.0.3 5564\nINTERCONNECTION_SECRET later\nREFLECTOR_INTERCONNECTION 127.0.0.4 5564 own\n');
    expect(c.peers).to.deep.equal([{ address: '127.0.0.3', rtpRelayPort: 5564, secret: 'later' }, { address: '127.0.0.4', rtpRelayPort: 5564, secret: 'own' }]);
    const none = parseOk('REFLECTOR_INTERCONNECTION 10.11.12.14 5564\n');
    expect(none.peers).to.deep.equal([{ address: '10.11.12.14', rtpRelayPort: 5564 }]);
    expect('secret' in none.peers[0]).to.equal(false);
  });

  it('repeatable keywords accumulate in file order', () => {
    const c = parseOk('HOSTS_DENY 10.0.0.0/8\nSIP_USER a x\nHOSTS_DENY 172.16.0.0/12 192.168.0.0/16\nSIP_USER b y\nHOSTS_ALLOW 10.1.0.0/16\nHOSTS_ALLOW 10.2.0.0/16\n');
    expect(c.hostsDeny.map((n) => `${n.address}/${n.prefix}`)).to.deep.equal(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']);
    expect(c.hostsAllow.map((n) => `${n.address}/${n.prefix}`)).to.deep.equal(['10.1.0.0/16', '10.2.0.0/16']);
    expect(c.sipUsers.map((u) => u.name)).to.deep.equal(['a', 'b']);
  });

  it('several peers may share one relay port (one socket, told apart by source address)', () => {
    const c = parseOk('REFLECTOR_INTERCONNECTION 127.0.0.3 5564\nREFLECTOR_INTERCONNECTION 127.0.0.4 5564\nREFLECTOR_INTERCONNECTION ::1 5564\nLISTEN_ADDRESS ::\n');
    expect(c.peers.map((p) => p.address)).to.deep.equal(['127.0.0.3', '127.0.0.4', '::1']);
  });

  it('UDP and TCP may use the same port number (FILE_TRANSFER_PORT next to the RTCP relay)', () => {
    const c = parseOk('FILE_TRANSFER_PORT 5565\nREFLECTOR_INTERCONNECTION 127.0.0.3 5564\n');
    expect(c.fileTransferPort).to.equal(5565);
  });

  it('the SIP port is only claimed on the transports in use', () => {
    expect(parseOk('SIP_TRANSPORTS tcp\nSIP_PORT 5566\nAUDIO_PORT 5566\n').sipPort).to.equal(5566);
    expect(parseOk('SIP_TRANSPORTS udp\nSIP_PORT 12340\n').sipPort).to.equal(12340);
  });
});
