import { expect } from 'chai';
import { formatIssue, parseConfigText, type ConfigIssue } from '../../src/config/load.js';

const F = 'test.conf';

/** Parses `text` (with a few valid lines in front so line numbers matter) and returns the issues. */
function issuesOf(text: string): ConfigIssue[] {
  const { config, issues } = parseConfigText(`# header\nLISTEN_ADDRESS 127.0.0.2\n${text}`, F);
  if (issues.length > 0) expect(config).to.equal(null);
  return issues;
}

/** [what, config lines (start at line 3), line, keyword, message pattern] — each must give exactly one issue. */
const CASES: [string, string, number, string, RegExp][] = [
  ['unknown keyword', 'AUDIO_PROT 5566', 3, 'AUDIO_PROT', /unknown keyword.*did you mean AUDIO_PORT/],
  ['unknown keyword without a near match', 'FOO_BAR_BAZ_QUUX 1', 3, 'FOO_BAR_BAZ_QUUX', /unknown keyword/],
  ['not a keyword', '5566 AUDIO_PORT', 3, '', /expected a keyword/],
  ['non-repeatable twice', 'AUDIO_PORT 6000\n\nAUDIO_PORT 6002', 5, 'AUDIO_PORT', /at most one AUDIO_PORT line, got lines 3 and 5/],
  ['missing argument', 'AUDIO_PORT', 3, 'AUDIO_PORT', /expected one argument.*got no arguments/],
  ['too many arguments', 'SIP_PORT 5060 5061', 3, 'SIP_PORT', /expected one argument.*got 2 arguments/],
  ['port not a number', 'SIP_PORT sip', 3, 'SIP_PORT', /1-65535.*"sip"/],
  ['port 0', 'CHECKIP_PORT 0', 3, 'CHECKIP_PORT', /1-65535/],
  ['port above 65535', 'FILE_TRANSFER_PORT 65536', 3, 'FILE_TRANSFER_PORT', /1-65535/],
  ['RTP port without room for RTCP', 'AUDIO_PORT 65535', 3, 'AUDIO_PORT', /1-65534/],
  ['range reversed', 'APPSHARE_SERVER_PORTS 7100-7000', 3, 'APPSHARE_SERVER_PORTS', /first <= last/],
  ['range malformed', 'APPSHARE_CLIENT_PORTS 6000', 3, 'APPSHARE_CLIENT_PORTS', /first-last/],
  ['keep-alive not 4 ports', 'KEEPALIVE_PORTS 5570-5572', 3, 'KEEPALIVE_PORTS', /4 consecutive ports/],
  ['public address not an address', 'PUBLIC_ADDRESS reflector.example', 3, 'PUBLIC_ADDRESS', /IPv4 or IPv6 address/],
  ['public address wildcard', 'PUBLIC_ADDRESS 0.0.0.0', 3, 'PUBLIC_ADDRESS', /specific address/],
  ['bad network', 'HOSTS_ALLOW 10.0.0.0/40', 3, 'HOSTS_ALLOW', /prefix length 0-32/],
  ['network with host bits', 'HOSTS_DENY 10.0.0.0/8\nHOSTS_DENY 192.168.1.1/16', 4, 'HOSTS_DENY', /no host bits/],
  ['empty HOSTS_ALLOW', 'HOSTS_ALLOW', 3, 'HOSTS_ALLOW', /got no arguments/],
  ['transport unknown', 'SIP_TRANSPORTS udp sctp', 3, 'SIP_TRANSPORTS', /udp or tcp or tls.*"sctp"/],
  ['transport twice', 'SIP_TRANSPORTS udp UDP', 3, 'SIP_TRANSPORTS', /once.*"udp" twice/i],
  ['no transport', 'SIP_TRANSPORTS', 3, 'SIP_TRANSPORTS', /one or more/],
  ['digest algorithm unknown', 'SIP_DIGEST_ALGORITHMS SHA-512', 3, 'SIP_DIGEST_ALGORITHMS', /MD5 or SHA-256/],
  ['boolean not on/off', 'SIP_AUTH yes', 3, 'SIP_AUTH', /on or off/],
  ['SIP_USER without secret', 'SIP_USER alice', 3, 'SIP_USER', /name secret.*got 1 argument/],
  ['SIP_USER short HA1', 'SIP_USER alice HA1:abc', 3, 'SIP_USER', /32 hex digits/],
  ['SIP_USER bad HA1-SHA256', `SIP_USER alice HA1-SHA256:${'g'.repeat(64)}`, 3, 'SIP_USER', /64 hex digits/],
  ['SIP_USER name with colon', 'SIP_USER a:b pw', 3, 'SIP_USER', /user name/],
  ['SIP_USER twice the same name', 'SIP_USER alice a\nSIP_USER bob b\nSIP_USER alice c', 5, 'SIP_USER', /user name once.*"alice"/],
  ['HA1 user without MD5 offered', `SIP_DIGEST_ALGORITHMS SHA-256\nSIP_USER alice HA1:${'a'.repeat(32)}`, 4, 'SIP_USER', /MD5 in SIP_DIGEST_ALGORITHMS/],
  ['HA1-SHA256 user without SHA-256 offered', `SIP_USER alice HA1-SHA256:${'a'.repeat(64)}`, 3, 'SIP_USER', /SHA-256 in SIP_DIGEST_ALGORITHMS/],
  ['SIP_AUTH on without users', 'SIP_AUTH on', 3, 'SIP_AUTH', /at least one SIP_USER/],
  ['realm with a quote', 'SIP_REALM a"b', 3, 'SIP_REALM', /without "/],
  ['audio mode', 'AUDIO_MODE mixed', 3, 'AUDIO_MODE', /reflect or mix/],
  ['codec name', 'AUDIO_CODECS PCMU PC/MA', 3, 'AUDIO_CODECS', /codec name/],
  ['codec twice', 'VIDEO_CODECS H264 h264', 3, 'VIDEO_CODECS', /twice/],
  ['size suffix', 'FILE_MAX_BYTES 10MB', 3, 'FILE_MAX_BYTES', /binary suffix/],
  ['size zero', 'FILE_MAX_BYTES 0', 3, 'FILE_MAX_BYTES', />= 1/],
  ['ttl negative', 'FILE_TTL -5', 3, 'FILE_TTL', /seconds/],
  ['timeout zero', 'INACTIVITY_TIMEOUT 0', 3, 'INACTIVITY_TIMEOUT', /seconds \(an integer 1-86400\)/],
  ['drain timeout negative', 'DRAIN_TIMEOUT -1', 3, 'DRAIN_TIMEOUT', /seconds \(an integer 0-86400\)/],
  ['limit not a number', 'MAX_SESSIONS many', 3, 'MAX_SESSIONS', /a count/],
  ['media workers zero', 'MEDIA_WORKERS 0', 3, 'MEDIA_WORKERS', /a count of media threads \(an integer 1-64\)/],
  ['media workers too many', 'MEDIA_WORKERS 65', 3, 'MEDIA_WORKERS', /an integer 1-64/],
  ['media workers a word', 'MEDIA_WORKERS all', 3, 'MEDIA_WORKERS', /an integer 1-64/],
  ['status listen without port', 'STATUS_LISTEN 127.0.0.1', 3, 'STATUS_LISTEN', /IPv4:port or \[IPv6\]:port/],
  ['status listen IPv6 without brackets', 'STATUS_LISTEN ::1:8080', 3, 'STATUS_LISTEN', /\[IPv6\]:port/],
  ['status listen IPv4 in brackets', 'STATUS_LISTEN [127.0.0.1]:8080', 3, 'STATUS_LISTEN', /IPv4:port/],
  ['log level', 'LOG_LEVEL verbose', 3, 'LOG_LEVEL', /error or warn or info or debug/],
  ['peer without port', 'REFLECTOR_INTERCONNECTION 127.0.0.3', 3, 'REFLECTOR_INTERCONNECTION', /peer-address rtp-relay-port \[secret\]/],
  ['peer with 4 arguments', 'REFLECTOR_INTERCONNECTION 127.0.0.3 5564 s extra', 3, 'REFLECTOR_INTERCONNECTION', /got 4 arguments/],
  ['peer host name', 'REFLECTOR_INTERCONNECTION r1.example 5564', 3, 'REFLECTOR_INTERCONNECTION', /IPv4 or IPv6 address/],
  ['peer relay port 65535', 'REFLECTOR_INTERCONNECTION 127.0.0.3 65535', 3, 'REFLECTOR_INTERCONNECTION', /1-65534/],
  ['peer twice', 'REFLECTOR_INTERCONNECTION 127.0.0.3 5564\nREFLECTOR_INTERCONNECTION 127.0.0.3 5564', 4, 'REFLECTOR_INTERCONNECTION', /each peer address once/],
  ['peer is ourselves', 'REFLECTOR_INTERCONNECTION 127.0.0.2 5564', 3, 'REFLECTOR_INTERCONNECTION', /this reflector's own/],
  ['peer of the other family', 'REFLECTOR_INTERCONNECTION ::1 5564', 3, 'REFLECTOR_INTERCONNECTION', /IPv4 peer address/],
  ['audio RTCP is the video RTP port', 'VIDEO_PORT 5567', 3, 'VIDEO_PORT', /UDP port 5567 is both the video RTP port.*audio RTCP port/],
  ['audio moved onto video', 'AUDIO_PORT 5567', 3, 'AUDIO_PORT', /UDP port 5568 is both the audio RTCP port.*video RTP port/],
  ['keep-alive overlaps audio', 'KEEPALIVE_PORTS 5564-5567', 3, 'KEEPALIVE_PORTS', /keep-alive port/],
  ['peer relay on the audio port', 'REFLECTOR_INTERCONNECTION 127.0.0.3 5566', 3, 'REFLECTOR_INTERCONNECTION', /RTP relay port.*audio RTP port/],
  ['peers whose relay ports overlap', 'REFLECTOR_INTERCONNECTION 127.0.0.3 5560\nREFLECTOR_INTERCONNECTION 127.0.0.4 5561', 4, 'REFLECTOR_INTERCONNECTION', /UDP port 5561.*RTCP relay/],
  ['app-share ranges overlap', 'APPSHARE_CLIENT_PORTS 7050-7200', 3, 'APPSHARE_CLIENT_PORTS', /TCP port 7050/],
  ['check-ip inside a range', 'CHECKIP_PORT 6050', 3, 'CHECKIP_PORT', /TCP port 6050/],
  ['SIP over UDP on the audio port', 'SIP_PORT 5566', 3, 'SIP_PORT', /UDP port 5566/],
  ['status port inside the app-share range', 'STATUS_LISTEN 127.0.0.2:7000', 3, 'STATUS_LISTEN', /TCP port 7000.*status port/],
  ['secret with a control character', 'ADMIN_TOKEN a\x01b', 3, '', /printable text/],
];

describe('config errors name file, line, keyword and what was expected', () => {
  for (const [what, text, line, keyword, pattern] of CASES) {
    it(what, () => {
      const issues = issuesOf(text);
      expect(issues, JSON.stringify(issues)).to.have.length(1);
      expect(issues[0]).to.include({ file: F, line, keyword });
      expect(issues[0].message).to.match(pattern);
      expect(formatIssue(issues[0])).to.equal(`${F}:${line}: ${keyword === '' ? '' : `${keyword}: `}${issues[0].message}`);
    });
  }

  it('a bad LISTEN_ADDRESS', () => {
    const { issues } = parseConfigText('LISTEN_ADDRESS 127.0.0.300\n', F);
    expect(issues.map((i) => [i.line, i.keyword])).to.deep.equal([[1, 'LISTEN_ADDRESS']]);
    expect(issues[0].message).to.match(/expected an IPv4 or IPv6 address, got "127.0.0.300"/);
  });

  it('every message says what was expected', () => {
    for (const [, text] of CASES) {
      for (const i of issuesOf(text)) expect(i.message).to.match(/expected/);
    }
  });

  it('a file with three mistakes yields exactly three issues on the right lines', () => {
    const text = [
      'REFLECTOR_ID r1',        // 1
      'AUDIO_PORT 99999',       // 2  bad port
      '# comment',              // 3
      'SIP_TRANSPORTS udp',     // 4
      'LOG_LEVEL loud',         // 5  bad level
      'HOSTS_ALLOW 10.0.0.0/8', // 6
      'VIDEO_CODEC VP8',        // 7  unknown keyword
      'STATUS_LISTEN off',      // 8
    ].join('\n');
    const { config, issues } = parseConfigText(text, 'three.conf');
    expect(config).to.equal(null);
    expect(issues.map((i) => [i.file, i.line, i.keyword])).to.deep.equal([
      ['three.conf', 2, 'AUDIO_PORT'], ['three.conf', 5, 'LOG_LEVEL'], ['three.conf', 7, 'VIDEO_CODEC'],
    ]);
  });

  it('issues of repeatable keywords point at the offending line among several', () => {
    const issues = issuesOf('SIP_USER a x\nSIP_USER b\nSIP_USER c z\nSIP_USER d HA1:zz\n');
    expect(issues.map((i) => i.line)).to.deep.equal([4, 6]);
  });

  it('a third occurrence of a non-repeatable keyword is reported too', () => {
    const issues = issuesOf('LOG_LEVEL info\nLOG_LEVEL debug\nLOG_LEVEL warn\n');
    expect(issues.map((i) => [i.line, i.message])).to.deep.equal([
      [4, 'expected at most one LOG_LEVEL line, got lines 3 and 4'],
      [5, 'expected at most one LOG_LEVEL line, got lines 3 and 5'],
    ]);
  });

  it('a long bad value is cut short in the message', () => {
    const [issue] = issuesOf(`LOG_LEVEL ${'x'.repeat(1000)}`);
    expect(issue.message.length).to.be.below(200);
  });
});
