/**
 * Application sharing and file transfer: the entry point. The RFLX layer is
 * ProxyImpl in proxy.ts, composing proxy-requests.ts (participants' requests),
 * proxy-announce.ts (announcements) and proxy-peers.ts (peers) over the shared
 * state in proxy-context.ts; the TCP parts are share-hub.ts (local-share.ts,
 * remote-share.ts) and file-server.ts (file-spool.ts, file-fetch.ts).
 */
import { ProxyImpl, type Proxy, type ProxyDeps } from './proxy.js';

export * from './proxy.js';

export function createProxy(deps: ProxyDeps): Proxy {
  return new ProxyImpl(deps);
}
