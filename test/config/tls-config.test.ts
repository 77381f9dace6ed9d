/** SIP over TLS and SRTP keywords (SPEC §15): SIP_TLS_PORT, TLS_CERT, TLS_KEY, SRTP, `tls` in SIP_TRANSPORTS. */
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfigText } from '../../src/config/load.js';
import { makeTestCert } from '../helpers/tls-cert.js';
import { useTempDir } from '../helpers/temp-dir.js';

describe('config: TLS and SRTP keywords', () => {
  const tempDir = useTempDir('cfg-tls-', {
    scope: 'all',
    setup: (dir) => {
      makeTestCert(dir);
      makeTestCert(dir, 'other', '127.0.0.1', 'other');
    },
  });
  const parse = (text: string) => parseConfigText(text, join(tempDir(), 'reflector.conf'));

  it('adds tls to the default transports when TLS_CERT is set, with SIP_TLS_PORT 5061 and SRTP optional by default', () => {
    const { config, issues } = parse('TLS_CERT tls-cert.pem\nTLS_KEY tls-key.pem\n');
    expect(issues).to.deep.equal([]);
    expect(config?.sipTransports).to.deep.equal(['udp', 'tcp', 'tls']);
    expect(config?.sipTlsPort).to.equal(5061);
    expect(config?.srtp).to.equal('optional');
    expect(config?.tlsCert).to.equal(join(tempDir(), 'tls-cert.pem'));
    const plain = parse('# none\n').config;
    expect(plain?.sipTransports).to.deep.equal(['udp', 'tcp']);
    expect(plain?.srtp).to.equal('optional');
  });

  it('a missing certificate file is an error naming the file and the line', () => {
    const { config, issues } = parse('LOG_LEVEL warn\nTLS_CERT nope.pem\nTLS_KEY tls-key.pem\n');
    expect(config).to.equal(null);
    expect(issues).to.have.length(1);
    expect(issues[0]).to.include({ line: 2, keyword: 'TLS_CERT' });
    expect(issues[0].message).to.include(join(tempDir(), 'nope.pem'));
  });

  it('a key that is not the certificate\'s, or not PEM, is an error on TLS_KEY naming the file', () => {
    const wrong = parse('TLS_CERT tls-cert.pem\nTLS_KEY other-key.pem\n').issues;
    expect(wrong).to.have.length(1);
    expect(wrong[0]).to.include({ line: 2, keyword: 'TLS_KEY' });
    expect(wrong[0].message).to.include(join(tempDir(), 'other-key.pem'));
    writeFileSync(join(tempDir(), 'garbage.pem'), 'not a pem\n');
    const garbage = parse('TLS_CERT garbage.pem\nTLS_KEY tls-key.pem\n').issues;
    expect(garbage[0]).to.include({ line: 1, keyword: 'TLS_CERT' });
  });

  it('tls in SIP_TRANSPORTS needs TLS_CERT and TLS_KEY; one without the other is an error', () => {
    expect(parse('SIP_TRANSPORTS udp tls\n').issues[0]).to.include({ line: 1, keyword: 'SIP_TRANSPORTS' });
    expect(parse('TLS_CERT tls-cert.pem\n').issues[0]).to.include({ line: 1, keyword: 'TLS_CERT' });
    expect(parse('TLS_KEY tls-key.pem\n').issues[0]).to.include({ line: 1, keyword: 'TLS_KEY' });
  });

  it('SRTP takes off, optional or required; SIP_TLS_PORT may not collide with a TCP port', () => {
    expect(parse('SRTP OFF\n').config?.srtp).to.equal('off');
    expect(parse('SRTP always\n').issues[0]?.message).to.match(/off or optional or required/);
    const clash = parse('TLS_CERT tls-cert.pem\nTLS_KEY tls-key.pem\nSIP_TLS_PORT 12340\n').issues;
    expect(clash.some((i) => i.keyword === 'SIP_TLS_PORT' || i.keyword === 'CHECKIP_PORT')).to.equal(true);
  });
});
