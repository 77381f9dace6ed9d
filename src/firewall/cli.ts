/**
 * `reflector firewall-rules [--config FILE] [--format nft|iptables] ...`: prints the packet-filter
 * rules of firewall 1 and firewall 2 for this configuration (rules.ts). Exit 0, 1 on a configuration
 * error, 2 on bad arguments.
 */
import { ConfigError, formatIssue, resolveConfig } from '../config/load.js';
import { DEFAULT_RULES_OPTIONS, firewallRules, type FirewallRulesOptions } from './rules.js';

export const FIREWALL_USAGE = `usage: reflector firewall-rules [--config FILE] [--format nft|iptables] [--firewall 1|2]
                                [--address ADDR] [--nat-address ADDR]
                                [--fw2-inside IF] [--fw2-outside IF] [--no-masquerade]

Prints the packet-filter rules that firewall 1 (between R2 and the Internet) and firewall 2 (between the
enterprise LAN and the DMZ) need for this configuration. Run it with the configuration of the reflector in
the DMZ (R2): ports come from it, peers from its REFLECTOR_INTERCONNECTION lines.

  --config FILE        configuration file (default ./reflector.conf if present, else built-in defaults)
  --format nft         nftables input for \`nft -f\` (default)
  --format iptables    iptables-restore input
  --firewall 1|2       print only that firewall's rules
  --address ADDR       R2's address (default LISTEN_ADDRESS, or PUBLIC_ADDRESS when that is a wildcard)
  --nat-address ADDR   firewall 1 also translates R2 one-to-one to ADDR, keeping the ports
  --fw2-inside IF      firewall 2's interface towards the LAN (default lan)
  --fw2-outside IF     firewall 2's interface towards the DMZ (default dmz)
  --no-masquerade      firewall 2 does not NAT the LAN clients
`;

export function parseFirewallArgs(argv: readonly string[]): { configPath?: string; options: FirewallRulesOptions; help: boolean } {
  const o: { -readonly [K in keyof FirewallRulesOptions]: FirewallRulesOptions[K] } = { ...DEFAULT_RULES_OPTIONS };
  let configPath: string | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) throw new Error(`${a} needs a value`);
      i++;
      return v;
    };
    switch (a) {
      case '--config': case '-c': configPath = value(); break;
      case '--format': {
        const v = value();
        if (v !== 'nft' && v !== 'iptables') throw new Error(`--format ${v}: expected nft or iptables`);
        o.format = v;
        break;
      }
      case '--firewall': {
        const v = value();
        if (v !== '1' && v !== '2') throw new Error(`--firewall ${v}: expected 1 or 2`);
        o.firewall = v === '1' ? 1 : 2;
        break;
      }
      case '--address': o.address = value(); break;
      case '--nat-address': o.natAddress = value(); break;
      case '--fw2-inside': o.fw2Inside = value(); break;
      case '--fw2-outside': o.fw2Outside = value(); break;
      case '--no-masquerade': o.masquerade = false; break;
      case '--help': case '-h': help = true; break;
      default: throw new Error(`unknown argument: ${a}`);
    }
  }
  return { ...(configPath !== undefined ? { configPath } : {}), options: o, help };
}

export function runFirewallRules(argv: readonly string[], out: (s: string) => void, err: (s: string) => void): number {
  let args: ReturnType<typeof parseFirewallArgs>;
  try {
    args = parseFirewallArgs(argv);
  } catch (e) {
    err(`reflector firewall-rules: ${e instanceof Error ? e.message : String(e)}\n${FIREWALL_USAGE}`);
    return 2;
  }
  if (args.help) { out(FIREWALL_USAGE); return 0; }
  try {
    out(firewallRules(resolveConfig(args.configPath), args.options));
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      for (const issue of e.issues) err(formatIssue(issue) + '\n');
      return 1;
    }
    err(`reflector firewall-rules: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
}
