/**
 * The route set of a UAS dialog behind proxies (RFC 3261 §12.1.1, §12.2.1.1, §16.12): the
 * Record-Route a dialog-creating request carried is copied into the responses of the dialog, kept
 * in order as the route set, and decides where the requests we originate in the dialog (our BYE)
 * go and what their Request-URI and Route headers are.
 *
 *   loose first route (;lr):  BYE <remote target>    Route: r1, r2, …          → sent to r1
 *   strict first route:       BYE <r1>               Route: r2, …, <target>    → sent to r1
 *   no route set:             BYE <remote target>                             → sent to the source
 *
 * "Sent to r1" only over UDP and only when r1 is an IP literal equal to the IP the dialog's
 * requests come from (any port): a Record-Route header can never aim the reflector at a third
 * party (anti-amplification). Otherwise, and over TCP (we answer on the connection the dialog came
 * in on), the request goes to the dialog's signalling source with the same Route headers.
 */
import { isIP } from 'node:net';
import { parseNameAddr, parseSipUri, splitHeaderList, type SipRequest } from '../message.js';
import type { SipSource } from '../transport/transport.js';

/** The Record-Route values of `req`, in order, as response headers (RFC 3261 §12.1.1). */
export function recordRouteHeaders(req: SipRequest): [string, string][] {
  return routeSetOf(req).map((v) => ['Record-Route', v]);
}

/** The UAS route set: the Record-Route values of the dialog-creating request, in order. */
export function routeSetOf(req: SipRequest): string[] {
  return splitHeaderList(req.headers.get('record-route') ?? '');
}

/** Request-URI, Route headers and next hop of a request we originate in a dialog. */
export interface InDialogRoute {
  readonly requestUri: string;
  readonly routes: readonly string[];
  readonly dest: SipSource;
}

/** RFC 3261 §12.2.1.1: where an in-dialog request goes, given the route set and the remote target. */
export function routeInDialog(routeSet: readonly string[], remoteTarget: string, source: SipSource): InDialogRoute {
  const firstValue = routeSet[0];
  if (firstValue === undefined) return { requestUri: remoteTarget, routes: [], dest: source };
  const first = parseNameAddr(firstValue);
  const uri = first !== undefined ? parseSipUri(first.uri) : undefined;
  if (first === undefined || uri === undefined) {
    // Not a SIP URI we can route by: keep the headers, send where the dialog's requests come from.
    return { requestUri: remoteTarget, routes: routeSet, dest: source };
  }
  const dest = nextHop(uri.host, uri.port ?? (uri.scheme === 'sips' ? 5061 : 5060), source);
  if ('lr' in uri.params) return { requestUri: remoteTarget, routes: routeSet, dest };
  // Strict router: its URI becomes the Request-URI, the remote target the last Route.
  return { requestUri: first.uri, routes: [...routeSet.slice(1), `<${remoteTarget}>`], dest };
}

function nextHop(host: string, port: number, source: SipSource): SipSource {
  if (source.transport !== 'udp') return source;
  const ip = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(ip) === 0 || plainIp(ip) !== plainIp(source.address)) return source;
  return { transport: 'udp', address: source.address, port };
}

/** Lower case, IPv4-mapped IPv6 as IPv4. */
function plainIp(ip: string): string {
  const l = ip.toLowerCase();
  return l.startsWith('::ffff:') && isIP(l.slice(7)) === 4 ? l.slice(7) : l;
}
