/**
 * The packet-filter rules of the firewall pair (SPEC §1, §14), generated from a
 * reflector's configuration: `reflector firewall-rules` prints them, the
 * operations guide shows them, and the namespace tests apply exactly this text.
 *
 *   enterprise LAN ──[ firewall 2 ]── R2 (DMZ) ──[ firewall 1 ]── Internet: R1 (a peer), external clients
 *
 * Run it with the configuration of the reflector in the DMZ (R2). Its own address is LISTEN_ADDRESS
 * (PUBLIC_ADDRESS when LISTEN_ADDRESS is a wildcard), or `address`; its peers are its
 * REFLECTOR_INTERCONNECTION lines.
 *
 * - Firewall 2 passes, from the inside interface to R2 only, new flows to SIP (UDP/TCP per
 *   SIP_TRANSPORTS), the media and keep-alive ports (UDP), FILE_TRANSFER_PORT, CHECKIP_PORT and both
 *   APPSHARE ranges (TCP); replies of those flows; nothing else. It masquerades the inside clients
 *   unless told not to.
 * - Firewall 1 passes, between R2 and each peer in both directions, UDP relay port → relay port and
 *   relay port+1 → relay port+1 (source = destination port), TCP FILE_TRANSFER_PORT and the
 *   APPSHARE_CLIENT_PORTS range (the peer is assumed to use the same TCP ports as R2 — the usual
 *   case; if not, edit those numbers); replies; nothing else. With `natAddress` it also translates R2
 *   one-to-one to that address, keeping the ports.
 *
 * nft output: per firewall one `table inet rtp_reflector_fwN` (and `table ip|ip6 rtp_reflector_fwN_nat`),
 * each preceded by a create-and-delete pair so that `nft -f` replaces an older copy and touches nothing
 * else. iptables output: `iptables-restore` input (replaces the filter and nat tables of that firewall).
 */
import { isIP } from 'node:net';
import type { Config, PortRange } from '../config/types.js';

export type RulesFormat = 'nft' | 'iptables';

export interface FirewallRulesOptions {
  readonly format: RulesFormat;
  /** Only this firewall's section (1 or 2); both when absent. */
  readonly firewall?: 1 | 2;
  /** R2's address, when not LISTEN_ADDRESS / PUBLIC_ADDRESS of the configuration. */
  readonly address?: string;
  /** Firewall 1 translates R2 one-to-one to this address (static NAT keeping ports). */
  readonly natAddress?: string;
  /** Firewall 2's interface towards the enterprise LAN. */
  readonly fw2Inside: string;
  /** Firewall 2's interface towards the DMZ (R2). */
  readonly fw2Outside: string;
  /** Firewall 2 masquerades the inside clients on its outside interface. */
  readonly masquerade: boolean;
}

export const DEFAULT_RULES_OPTIONS: FirewallRulesOptions = {
  format: 'nft', fw2Inside: 'lan', fw2Outside: 'dmz', masquerade: true,
};

/** A port or an inclusive range. */
type Ports = readonly (number | PortRange)[];

/** R2's own address for the rules; throws with a clear message when none is usable. */
export function reflectorAddress(config: Config, override?: string): string {
  if (override !== undefined) {
    if (isIP(override) === 0) throw new Error(`--address ${override}: not an IP address`);
    return override;
  }
  const wildcard = (a: string): boolean => a === '0.0.0.0' || a === '::';
  if (!wildcard(config.listenAddress)) return config.listenAddress;
  if (!wildcard(config.publicAddress)) return config.publicAddress;
  throw new Error('LISTEN_ADDRESS and PUBLIC_ADDRESS are wildcards: give the reflector\'s address with --address');
}

const IFNAME = /^[A-Za-z0-9_.:-]{1,15}$/;

/** The rules text; throws Error with a user-facing message on bad options. */
export function firewallRules(config: Config, options: FirewallRulesOptions): string {
  const r2 = reflectorAddress(config, options.address);
  const family = isIP(r2);
  if (options.natAddress !== undefined && isIP(options.natAddress) !== family) {
    throw new Error(`--nat-address ${options.natAddress}: not an IPv${family} address like ${r2}`);
  }
  for (const name of [options.fw2Inside, options.fw2Outside]) {
    if (!IFNAME.test(name)) throw new Error(`interface name ${JSON.stringify(name)}: 1-15 letters, digits, _ . : -`);
  }
  for (const p of config.peers) {
    if (isIP(p.address) !== family) throw new Error(`peer ${p.address} is not IPv${family} like ${r2}`);
  }
  const peers = config.peers;

  const udpIn: Ports = [
    ...(config.sipTransports.includes('udp') ? [config.sipPort] : []),
    { first: config.audioPort, last: config.audioPort + 1 },
    { first: config.videoPort, last: config.videoPort + 1 },
    config.keepalivePorts,
  ];
  const tcpIn: Ports = [
    ...(config.sipTransports.includes('tcp') ? [config.sipPort] : []),
    config.fileTransferPort, config.checkipPort, config.appshareClientPorts, config.appshareServerPorts,
  ];
  const tcpPeer: Ports = [config.fileTransferPort, config.appshareClientPorts];
  const ctx: Ctx = { config, options, r2, family: family === 6 ? 6 : 4, peers, udpIn: merge(udpIn), tcpIn: merge(tcpIn), tcpPeer: merge(tcpPeer) };
  const gen = options.format === 'nft' ? nft : iptables;
  const parts: string[] = [];
  if (options.firewall !== 2) parts.push(gen.fw1(ctx));
  if (options.firewall !== 1) parts.push(gen.fw2(ctx));
  return parts.join('\n');
}

interface Ctx {
  readonly config: Config;
  readonly options: FirewallRulesOptions;
  readonly r2: string;
  readonly family: 4 | 6;
  readonly peers: Config['peers'];
  readonly udpIn: Ports;
  readonly tcpIn: Ports;
  readonly tcpPeer: Ports;
}

/** Sorts, and joins adjacent or overlapping ports and ranges. */
function merge(ports: Ports): Ports {
  const ranges = ports.map((p) => (typeof p === 'number' ? { first: p, last: p } : { first: p.first, last: p.last }))
    .sort((a, b) => a.first - b.first);
  const out: { first: number; last: number }[] = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last !== undefined && r.first <= last.last + 1) last.last = Math.max(last.last, r.last);
    else out.push({ ...r });
  }
  return out.map((r) => (r.first === r.last ? r.first : r));
}

function header(n: 1 | 2, c: Ctx): string[] {
  const lines = n === 1
    ? [
      `# ==== firewall 1: between R2 (${c.r2}) and the Internet ====`,
      `# Passes only UDP relay/control and TCP file/share relay between R2 and its peers, both directions.`,
      ...(c.peers.length === 0 ? ['# (no REFLECTOR_INTERCONNECTION lines: nothing passes)'] : []),
      ...(c.options.natAddress !== undefined ? [`# Static 1:1 NAT: R2 ${c.r2} appears as ${c.options.natAddress} (ports kept).`] : []),
    ]
    : [
      `# ==== firewall 2: between the enterprise LAN (${c.options.fw2Inside}) and the DMZ (${c.options.fw2Outside}) ====`,
      `# Passes only flows from the LAN to R2 (${c.r2}) on the client ports; replies; nothing else.`,
      ...(c.options.masquerade ? [`# The LAN clients are masqueraded on ${c.options.fw2Outside}.`] : []),
    ];
  return lines;
}

const nft = {
  set(ports: Ports): string {
    const items = ports.map((p) => (typeof p === 'number' ? String(p) : `${p.first}-${p.last}`));
    return items.length === 1 ? items[0]! : `{ ${items.join(', ')} }`;
  },
  table(family: string, name: string, body: string[]): string[] {
    return [`table ${family} ${name}`, `delete table ${family} ${name}`, `table ${family} ${name} {`, ...body, '}'];
  },
  fw1(c: Ctx): string {
    const ip = c.family === 6 ? 'ip6' : 'ip';
    const rules: string[] = [];
    for (const p of c.peers) {
      const rtcp = p.rtpRelayPort + 1;
      rules.push(`    # peer ${p.address}: relay UDP ${p.rtpRelayPort}/${rtcp} (source port = destination port), TCP file and share relay`);
      for (const [a, b] of [[c.r2, p.address], [p.address, c.r2]] as const) {
        rules.push(`    ${ip} saddr ${a} ${ip} daddr ${b} udp sport ${p.rtpRelayPort} udp dport ${p.rtpRelayPort} accept`);
        rules.push(`    ${ip} saddr ${a} ${ip} daddr ${b} udp sport ${rtcp} udp dport ${rtcp} accept`);
        rules.push(`    ${ip} saddr ${a} ${ip} daddr ${b} tcp dport ${nft.set(c.tcpPeer)} ct state new accept`);
      }
    }
    const out = [...header(1, c), ...nft.table('inet', 'rtp_reflector_fw1', [
      '  chain forward {',
      '    type filter hook forward priority filter; policy drop;',
      '    ct state established,related accept',
      ...rules,
      '  }',
    ])];
    if (c.options.natAddress !== undefined) {
      out.push(...nft.table(ip, 'rtp_reflector_fw1_nat', [
        '  chain prerouting {',
        '    type nat hook prerouting priority dstnat; policy accept;',
        `    ${ip} daddr ${c.options.natAddress} dnat to ${c.r2}`,
        '  }',
        '  chain postrouting {',
        '    type nat hook postrouting priority srcnat; policy accept;',
        `    ${ip} saddr ${c.r2} snat to ${c.options.natAddress}`,
        '  }',
      ]));
    }
    return out.join('\n') + '\n';
  },
  fw2(c: Ctx): string {
    const ip = c.family === 6 ? 'ip6' : 'ip';
    const from = `iifname "${c.options.fw2Inside}" oifname "${c.options.fw2Outside}" ${ip} daddr ${c.r2}`;
    const out = [...header(2, c), ...nft.table('inet', 'rtp_reflector_fw2', [
      '  chain forward {',
      '    type filter hook forward priority filter; policy drop;',
      '    ct state established,related accept',
      `    ${from} udp dport ${nft.set(c.udpIn)} ct state new accept`,
      `    ${from} tcp dport ${nft.set(c.tcpIn)} ct state new accept`,
      '  }',
    ])];
    if (c.options.masquerade) {
      out.push(...nft.table(ip, 'rtp_reflector_fw2_nat', [
        '  chain postrouting {',
        '    type nat hook postrouting priority srcnat; policy accept;',
        `    oifname "${c.options.fw2Outside}" masquerade`,
        '  }',
      ]));
    }
    return out.join('\n') + '\n';
  },
};

const iptables = {
  ports(ports: Ports): string {
    const items = ports.map((p) => (typeof p === 'number' ? String(p) : `${p.first}:${p.last}`));
    return items.length === 1 && typeof ports[0] === 'number' ? `--dport ${items[0]!}` : `-m multiport --dports ${items.join(',')}`;
  },
  restore(c: Ctx): string {
    return c.family === 6 ? 'ip6tables-restore' : 'iptables-restore';
  },
  fw1(c: Ctx): string {
    const lines = [...header(1, c), `# ${iptables.restore(c)} input`, '*filter', ':FORWARD DROP [0:0]',
      '-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT'];
    for (const p of c.peers) {
      const rtcp = p.rtpRelayPort + 1;
      for (const [a, b] of [[c.r2, p.address], [p.address, c.r2]] as const) {
        lines.push(`-A FORWARD -s ${a} -d ${b} -p udp --sport ${p.rtpRelayPort} --dport ${p.rtpRelayPort} -j ACCEPT`);
        lines.push(`-A FORWARD -s ${a} -d ${b} -p udp --sport ${rtcp} --dport ${rtcp} -j ACCEPT`);
        lines.push(`-A FORWARD -s ${a} -d ${b} -p tcp ${iptables.ports(c.tcpPeer)} -m conntrack --ctstate NEW -j ACCEPT`);
      }
    }
    lines.push('COMMIT');
    if (c.options.natAddress !== undefined) {
      lines.push('*nat', ':PREROUTING ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]',
        `-A PREROUTING -d ${c.options.natAddress} -j DNAT --to-destination ${c.r2}`,
        `-A POSTROUTING -s ${c.r2} -j SNAT --to-source ${c.options.natAddress}`,
        'COMMIT');
    }
    return lines.join('\n') + '\n';
  },
  fw2(c: Ctx): string {
    const from = `-i ${c.options.fw2Inside} -o ${c.options.fw2Outside} -d ${c.r2}`;
    const lines = [...header(2, c), `# ${iptables.restore(c)} input`, '*filter', ':FORWARD DROP [0:0]',
      '-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
      `-A FORWARD ${from} -p udp ${iptables.ports(c.udpIn)} -m conntrack --ctstate NEW -j ACCEPT`,
      `-A FORWARD ${from} -p tcp ${iptables.ports(c.tcpIn)} -m conntrack --ctstate NEW -j ACCEPT`,
      'COMMIT'];
    if (c.options.masquerade) {
      lines.push('*nat', ':POSTROUTING ACCEPT [0:0]', `-A POSTROUTING -o ${c.options.fw2Outside} -j MASQUERADE`, 'COMMIT');
    }
    return lines.join('\n') + '\n';
  },
};
