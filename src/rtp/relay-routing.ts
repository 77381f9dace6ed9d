/**
 * Value codecs of the RFLX TLVs that make interconnection graphs with cycles
 * work (docs/protocol.md, "Graphs with cycles"): ROUTES (24) in HELLO, ORIGINS
 * (25) and JOINS (26) in SESSION_STATE. Control path: decoding allocates.
 *
 *   ROUTES   n × { NODE_ID u32, METRIC u8 }     METRIC 0 = the sender itself,
 *                                               1..RELAY_MAX_HOPS = hops, 255 = "my route to it goes via you"
 *   ORIGINS  n × { NODE_ID u32, COUNT u32 }     COUNT > 0
 *   JOINS    n × { NODE_ID u32 }
 *
 * NODE_ID is never 0 and appears at most once per list.
 */
import { readU32, writeU32 } from './big-endian.js';

/** METRIC of a node the sender reaches through the receiver (poisoned reverse). */
export const METRIC_VIA_YOU = 255;
/** At most this many entries per list (a bound on what a peer can make us keep). */
export const MAX_LIST_ENTRIES = 1024;

export const RoutingListDrop = {
  BadLength: 'routing_list_bad_length',
  TooMany: 'routing_list_too_many',
  BadNode: 'routing_list_bad_node',
  Duplicate: 'routing_list_duplicate',
  BadValue: 'routing_list_bad_value',
} as const;
export type RoutingListDrop = (typeof RoutingListDrop)[keyof typeof RoutingListDrop];

const ROUTE_ENTRY = 5;
const ORIGIN_ENTRY = 8;
const JOIN_ENTRY = 4;

function checkFraming(buf: Uint8Array, entry: number): RoutingListDrop | null {
  if (buf.length % entry !== 0) return RoutingListDrop.BadLength;
  if (buf.length / entry > MAX_LIST_ENTRIES) return RoutingListDrop.TooMany;
  return null;
}

/** node → metric. */
export function encodeRoutes(routes: ReadonlyMap<number, number>): Buffer {
  const out = Buffer.alloc(routes.size * ROUTE_ENTRY);
  let at = 0;
  for (const [node, metric] of routes) {
    writeU32(out, at, node);
    out[at + 4] = metric;
    at += ROUTE_ENTRY;
  }
  return out;
}

export function decodeRoutes(buf: Uint8Array): Map<number, number> | RoutingListDrop {
  const bad = checkFraming(buf, ROUTE_ENTRY);
  if (bad !== null) return bad;
  const out = new Map<number, number>();
  for (let at = 0; at < buf.length; at += ROUTE_ENTRY) {
    const node = readU32(buf, at);
    if (node === 0) return RoutingListDrop.BadNode;
    if (out.has(node)) return RoutingListDrop.Duplicate;
    out.set(node, buf[at + 4]);
  }
  return out;
}

/** node → count (> 0). */
export function encodeOrigins(origins: ReadonlyMap<number, number>): Buffer {
  const out = Buffer.alloc(origins.size * ORIGIN_ENTRY);
  let at = 0;
  for (const [node, count] of origins) {
    writeU32(out, at, node);
    writeU32(out, at + 4, count);
    at += ORIGIN_ENTRY;
  }
  return out;
}

export function decodeOrigins(buf: Uint8Array): Map<number, number> | RoutingListDrop {
  const bad = checkFraming(buf, ORIGIN_ENTRY);
  if (bad !== null) return bad;
  const out = new Map<number, number>();
  for (let at = 0; at < buf.length; at += ORIGIN_ENTRY) {
    const node = readU32(buf, at);
    if (node === 0) return RoutingListDrop.BadNode;
    if (out.has(node)) return RoutingListDrop.Duplicate;
    const count = readU32(buf, at + 4);
    if (count === 0) return RoutingListDrop.BadValue;
    out.set(node, count);
  }
  return out;
}

export function encodeJoins(joins: Iterable<number>): Buffer {
  const list = [...joins];
  const out = Buffer.alloc(list.length * JOIN_ENTRY);
  for (let i = 0; i < list.length; i++) writeU32(out, i * JOIN_ENTRY, list[i]);
  return out;
}

export function decodeJoins(buf: Uint8Array): Set<number> | RoutingListDrop {
  const bad = checkFraming(buf, JOIN_ENTRY);
  if (bad !== null) return bad;
  const out = new Set<number>();
  for (let at = 0; at < buf.length; at += JOIN_ENTRY) {
    const node = readU32(buf, at);
    if (node === 0) return RoutingListDrop.BadNode;
    if (out.has(node)) return RoutingListDrop.Duplicate;
    out.add(node);
  }
  return out;
}
