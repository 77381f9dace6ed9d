import { expect } from 'chai';
import { MAX_CONFIG_BYTES, MAX_LINE_CHARS, parseConfigLines, tokenizeLines } from '../../src/config/line-parser.js';

describe('config line parser', () => {
  it('splits keyword and arguments, upper-cases keywords, drops comments and blank lines', () => {
    const text = [
      '# a comment line',
      '',
      '   ',
      'reflector_id  r1   # trailing comment',
      '\tSip_Transports\tudp  tcp\r',
      'HOSTS_ALLOW 10.0.0.0/8#no space before the comment',
      '#AUDIO_PORT 5566',
      'LOG_LEVEL',
    ].join('\n');
    const { lines, issues } = parseConfigLines(text, 'f.conf');
    expect(issues).to.deep.equal([]);
    expect(lines).to.deep.equal([
      { line: 4, keyword: 'REFLECTOR_ID', args: ['r1'] },
      { line: 5, keyword: 'SIP_TRANSPORTS', args: ['udp', 'tcp'] },
      { line: 6, keyword: 'HOSTS_ALLOW', args: ['10.0.0.0/8'] },
      { line: 8, keyword: 'LOG_LEVEL', args: [] },
    ]);
  });

  it('accepts CRLF line ends and a UTF-8 byte order mark', () => {
    const { lines, issues } = parseConfigLines('\ufeffAUDIO_PORT 5566\r\nVIDEO_PORT 5568\r\n', 'f');
    expect(issues).to.deep.equal([]);
    expect(lines.map((l) => [l.line, l.keyword, l.args])).to.deep.equal([[1, 'AUDIO_PORT', ['5566']], [2, 'VIDEO_PORT', ['5568']]]);
  });

  it('reports a token that is not a keyword, with its line, and keeps going', () => {
    const { lines, issues } = parseConfigLines('AUDIO_PORT 1\n5566 AUDIO_PORT\n-x\nVIDEO_PORT 2\n', 'f.conf');
    expect(lines.map((l) => l.line)).to.deep.equal([1, 4]);
    expect(issues.map((i) => [i.file, i.line])).to.deep.equal([['f.conf', 2], ['f.conf', 3]]);
    expect(issues[0].message).to.match(/^expected a keyword/);
  });

  it('refuses a line longer than the bound but reads the rest', () => {
    const long = `REFLECTOR_ID ${'x'.repeat(MAX_LINE_CHARS)}`;
    const { lines, issues } = parseConfigLines(`AUDIO_PORT 1\n${long}\nVIDEO_PORT 2`, 'f');
    expect(lines.map((l) => l.keyword)).to.deep.equal(['AUDIO_PORT', 'VIDEO_PORT']);
    expect(issues).to.have.length(1);
    expect(issues[0].line).to.equal(2);
    expect(issues[0].message).to.contain(String(MAX_LINE_CHARS));
  });

  it('accepts a line of exactly the bound', () => {
    const line = `ADMIN_TOKEN ${'x'.repeat(MAX_LINE_CHARS - 'ADMIN_TOKEN '.length)}`;
    expect(line.length).to.equal(MAX_LINE_CHARS);
    expect(parseConfigLines(line, 'f').issues).to.deep.equal([]);
  });

  it('refuses text over 1 MiB as a whole (line 0)', () => {
    const text = '# padding\n'.repeat(MAX_CONFIG_BYTES / 10 + 1);
    const { lines, issues } = parseConfigLines(text, 'big.conf');
    expect(lines).to.deep.equal([]);
    expect(issues).to.have.length(1);
    expect(issues[0]).to.include({ file: 'big.conf', line: 0 });
  });

  it('counts bytes, not characters, against the size bound', () => {
    const text = `# ${'é'.repeat(MAX_CONFIG_BYTES / 2)}`; // fewer characters than the bound, more bytes
    expect(text.length).to.be.below(MAX_CONFIG_BYTES);
    expect(parseConfigLines(text, 'f').issues).to.have.length(1);
  });

  it('refuses control characters and invalid UTF-8 outside comments', () => {
    const bad = Buffer.concat([Buffer.from('AUDIO_PORT 1\nREFLECTOR_ID a'), Buffer.from([0xff, 0xfe]), Buffer.from('\nX\x00Y 1\n# ok \x01 in a comment\n')]).toString('utf8');
    const { lines, issues } = parseConfigLines(bad, 'f');
    expect(lines.map((l) => l.keyword)).to.deep.equal(['AUDIO_PORT']);
    expect(issues.map((i) => i.line)).to.deep.equal([2, 3]);
  });

  it('keeps the case of tokens when used for SIP_USERS_FILE lines', () => {
    const { lines, issues } = tokenizeLines('Alice Secret\n# c\nbob HA1:00\n', 'users', 'SIP_USERS_FILE');
    expect(issues).to.deep.equal([]);
    expect(lines).to.deep.equal([{ line: 1, tokens: ['Alice', 'Secret'] }, { line: 3, tokens: ['bob', 'HA1:00'] }]);
  });
});
