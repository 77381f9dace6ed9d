/**
 * `reflector firewall-rules` (src/firewall): the rules follow the configuration (ports, peers, NAT),
 * pass exactly the ports of SPEC §14 and nothing else, and the CLI prints them. That these rules
 * really carry a conference (and block the rest) is shown by test/integration/firewall-netns.test.ts,
 * which applies this very output in network namespaces.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfigText } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { parseFirewallArgs } from '../../src/firewall/cli.js';
import { DEFAULT_RULES_OPTIONS, firewallRules, type FirewallRulesOptions } from '../../src/firewall/rules.js';

const MAIN_JS = fileURLToPath(new URL('../../src/main.js', import.meta.url));
const OPERATIONS_MD = fileURLToPath(new URL('../../../docs/operations.md', import.meta.url));
const README_MD = fileURLToPath(new URL('../../../README.md', import.meta.url));

function config(text: string): Config {
  const { config: c, issues } = parseConfigText(text, '/tmp/test.conf');
  if (c === null) throw new Error(JSON.stringify(issues));
  return c;
}

const R2 = config('LISTEN_ADDRESS 198.51.100.10\nREFLECTOR_INTERCONNECTION 203.0.113.10 5564 s3cret\n');
const rules = (c: Config, o: Partial<FirewallRulesOptions> = {}): string => firewallRules(c, { ...DEFAULT_RULES_OPTIONS, ...o });
/** The rule lines (no comments, no table framing). */
const ruleLines = (text: string): string[] => text.split('\n').map((l) => l.trim()).filter((l) => /^(ip |ip6 |iifname|oifname|-A )/.test(l));

describe('firewall-rules: generation (SPEC §14)', () => {
  it('nft, default ports: fw1 passes only relay UDP 5564/5565 (source = destination port) and TCP 5565, 6000-6100 between R2 and R1, both ways', () => {
    const fw1 = rules(R2, { firewall: 1 });
    expect(fw1).to.match(/^# ==== firewall 1: between R2 \(198\.51\.100\.10\) and the Internet ====/);
    expect(fw1).to.include('type filter hook forward priority filter; policy drop;');
    expect(fw1).to.include('ct state established,related accept');
    expect(ruleLines(fw1)).to.deep.equal([
      'ip saddr 198.51.100.10 ip daddr 203.0.113.10 udp sport 5564 udp dport 5564 accept',
      'ip saddr 198.51.100.10 ip daddr 203.0.113.10 udp sport 5565 udp dport 5565 accept',
      'ip saddr 198.51.100.10 ip daddr 203.0.113.10 tcp dport { 5565, 6000-6100 } ct state new accept',
      'ip saddr 203.0.113.10 ip daddr 198.51.100.10 udp sport 5564 udp dport 5564 accept',
      'ip saddr 203.0.113.10 ip daddr 198.51.100.10 udp sport 5565 udp dport 5565 accept',
      'ip saddr 203.0.113.10 ip daddr 198.51.100.10 tcp dport { 5565, 6000-6100 } ct state new accept',
    ]);
    expect(fw1).to.not.match(/\b[ds]nat\b/);
    expect(fw1).to.not.include('firewall 2');
  });

  it('nft: fw2 passes only LAN → R2 on SIP, media, keep-alive, file, check-ip and both share ranges, and masquerades', () => {
    const fw2 = rules(R2, { firewall: 2 });
    expect(ruleLines(fw2)).to.deep.equal([
      'iifname "lan" oifname "dmz" ip daddr 198.51.100.10 udp dport { 5060, 5566-5573 } ct state new accept',
      'iifname "lan" oifname "dmz" ip daddr 198.51.100.10 tcp dport { 5060, 5565, 6000-6100, 7000-7100, 12340 } ct state new accept',
      'oifname "dmz" masquerade',
    ]);
    const other = rules(R2, { firewall: 2, masquerade: false, fw2Inside: 'eth1', fw2Outside: 'eth0' });
    expect(other).to.not.include('masquerade');
    expect(other).to.include('iifname "eth1" oifname "eth0"');
  });

  it('follows the configured ports, transports and every peer; the whole output has both labelled sections', () => {
    const c = config([
      'LISTEN_ADDRESS 0.0.0.0', 'PUBLIC_ADDRESS 198.51.100.20', 'SIP_PORT 5080', 'SIP_TRANSPORTS udp',
      'AUDIO_PORT 40000', 'VIDEO_PORT 40010', 'KEEPALIVE_PORTS 40020-40023', 'CHECKIP_PORT 40030', 'FILE_TRANSFER_PORT 40040',
      'APPSHARE_SERVER_PORTS 41000-41009', 'APPSHARE_CLIENT_PORTS 42000-42009',
      'REFLECTOR_INTERCONNECTION 203.0.113.10 6664', 'REFLECTOR_INTERCONNECTION 203.0.113.11 7774',
    ].join('\n'));
    const all = rules(c);
    expect(all.indexOf('firewall 1')).to.be.lessThan(all.indexOf('firewall 2'));
    const lines = ruleLines(all);
    expect(lines).to.include('ip saddr 198.51.100.20 ip daddr 203.0.113.11 udp sport 7775 udp dport 7775 accept');
    expect(lines).to.include('ip saddr 203.0.113.10 ip daddr 198.51.100.20 udp sport 6664 udp dport 6664 accept');
    expect(lines).to.include('ip saddr 203.0.113.10 ip daddr 198.51.100.20 tcp dport { 40040, 42000-42009 } ct state new accept');
    expect(lines).to.include('iifname "lan" oifname "dmz" ip daddr 198.51.100.20 udp dport { 5080, 40000-40001, 40010-40011, 40020-40023 } ct state new accept');
    // SIP over TCP is off: 5080 is not open for TCP.
    expect(lines).to.include('iifname "lan" oifname "dmz" ip daddr 198.51.100.20 tcp dport { 40030, 40040, 41000-41009, 42000-42009 } ct state new accept');
    expect(lines.filter((l) => l.includes('203.0.113.1'))).to.have.length(12);
  });

  it('static NAT on fw1: DNAT and SNAT between the public and R2\'s address, ports kept; the filter still names R2\'s own address', () => {
    const fw1 = rules(R2, { firewall: 1, natAddress: '203.0.113.2' });
    expect(fw1).to.include('ip daddr 203.0.113.2 dnat to 198.51.100.10');
    expect(fw1).to.include('ip saddr 198.51.100.10 snat to 203.0.113.2');
    expect(fw1).to.include('ip saddr 203.0.113.10 ip daddr 198.51.100.10 udp sport 5564 udp dport 5564 accept');
    expect(() => rules(R2, { natAddress: '2001:db8::1' })).to.throw(/not an IPv4 address/);
  });

  it('iptables-restore format: the same rules, default-drop FORWARD, NAT tables when asked', () => {
    const text = rules(R2, { format: 'iptables', natAddress: '203.0.113.2' });
    expect(text.match(/^\*filter$/gm)).to.have.length(2);
    expect(text.match(/^:FORWARD DROP \[0:0\]$/gm)).to.have.length(2);
    expect(ruleLines(text)).to.deep.equal([
      '-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
      '-A FORWARD -s 198.51.100.10 -d 203.0.113.10 -p udp --sport 5564 --dport 5564 -j ACCEPT',
      '-A FORWARD -s 198.51.100.10 -d 203.0.113.10 -p udp --sport 5565 --dport 5565 -j ACCEPT',
      '-A FORWARD -s 198.51.100.10 -d 203.0.113.10 -p tcp -m multiport --dports 5565,6000:6100 -m conntrack --ctstate NEW -j ACCEPT',
      '-A FORWARD -s 203.0.113.10 -d 198.51.100.10 -p udp --sport 5564 --dport 5564 -j ACCEPT',
      '-A FORWARD -s 203.0.113.10 -d 198.51.100.10 -p udp --sport 5565 --dport 5565 -j ACCEPT',
      '-A FORWARD -s 203.0.113.10 -d 198.51.100.10 -p tcp -m multiport --dports 5565,6000:6100 -m conntrack --ctstate NEW -j ACCEPT',
      '-A PREROUTING -d 203.0.113.2 -j DNAT --to-destination 198.51.100.10',
      '-A POSTROUTING -s 198.51.100.10 -j SNAT --to-source 203.0.113.2',
      '-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
      '-A FORWARD -i lan -o dmz -d 198.51.100.10 -p udp -m multiport --dports 5060,5566:5573 -m conntrack --ctstate NEW -j ACCEPT',
      '-A FORWARD -i lan -o dmz -d 198.51.100.10 -p tcp -m multiport --dports 5060,5565,6000:6100,7000:7100,12340 -m conntrack --ctstate NEW -j ACCEPT',
      '-A POSTROUTING -o dmz -j MASQUERADE',
    ]);
  });

  it('takes R2\'s address from --address when given; refuses a bad address and bad interface names', () => {
    const text = rules(R2, { address: '198.51.100.7' });
    expect(text).to.include('ip saddr 198.51.100.7 ip daddr 203.0.113.10');
    expect(text).to.not.include('198.51.100.10');
    expect(() => rules(R2, { address: 'r2.example' })).to.throw(/not an IP address/);
    expect(() => rules(R2, { fw2Inside: 'lan; drop' })).to.throw(/interface name/);
  });

  it('parses its arguments and refuses unknown ones', () => {
    expect(parseFirewallArgs(['--config', 'x.conf', '--format', 'iptables', '--firewall', '1', '--nat-address', '203.0.113.2']))
      .to.deep.include({ configPath: 'x.conf' });
    expect(() => parseFirewallArgs(['--format', 'pf'])).to.throw(/nft or iptables/);
    expect(() => parseFirewallArgs(['--firewall', '3'])).to.throw(/1 or 2/);
    expect(() => parseFirewallArgs(['--bogus'])).to.throw(/unknown argument/);
  });
});

describe('firewall-rules: docs/operations.md shows exactly what the tool prints for the README pair', () => {
  /** The fenced block after an HTML comment marker. */
  const block = (text: string, marker: string): string => {
    const at = text.indexOf(`<!-- ${marker} -->`);
    expect(at, marker).to.be.greaterThan(-1);
    const m = /```\n([\s\S]*?)```/.exec(text.slice(at));
    return m?.[1] ?? '';
  };

  it('R2 of the README: the nft rules and the static-NAT table', () => {
    // R2's configuration as the README gives it.
    const readme = readFileSync(README_MD, 'utf8');
    const r2Block = /R2's `reflector.conf`:\n\n```\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(r2Block, 'README R2 config').to.be.a('string');
    const r2 = config(r2Block!);
    const ops = readFileSync(OPERATIONS_MD, 'utf8');
    expect(block(ops, 'firewall-rules: README pair, nft')).to.equal(rules(r2));
    const nat = rules(r2, { firewall: 1, natAddress: '203.0.113.2' });
    expect(block(ops, 'firewall-rules: README pair, nat')).to.equal(nat.slice(nat.indexOf('table ip rtp_reflector_fw1_nat')));
  });
});

describe('reflector firewall-rules (real process)', () => {
  let dir = '';
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'fw-rules-')); });
  afterEach(() => { rmSync(dir, { recursive: true, force: true }); });
  const run = (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> => new Promise((resolve) => {
    execFile(process.execPath, [MAIN_JS, 'firewall-rules', ...args], { timeout: 15_000, cwd: dir }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });

  it('prints the rules of the given config (exit 0), config errors with file and line (exit 1), bad arguments (exit 2)', async () => {
    const file = join(dir, 'r2.conf');
    writeFileSync(file, 'LISTEN_ADDRESS 198.51.100.10\nREFLECTOR_INTERCONNECTION 203.0.113.10 5564\n');
    const ok = await run(['--config', file]);
    expect(ok.code, ok.stderr).to.equal(0);
    expect(ok.stdout).to.equal(rules(config('LISTEN_ADDRESS 198.51.100.10\nREFLECTOR_INTERCONNECTION 203.0.113.10 5564\n')));
    writeFileSync(join(dir, 'bad.conf'), 'AUDIO_PORT 99999\n');
    const bad = await run(['--config', join(dir, 'bad.conf')]);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.match(/bad\.conf:1: AUDIO_PORT/);
    expect((await run(['--format', 'pf'])).code).to.equal(2);
    const help = await run(['--help']);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.include('--nat-address');
  });
});
