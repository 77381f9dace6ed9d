/**
 * The status HTTP server (SPEC §10): JSON endpoints, /metrics, the dashboard,
 * and the admin DELETE endpoints guarded by `Authorization: Bearer ADMIN_TOKEN`.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Config } from '../config/types.js';
import { VERSION } from '../runtime/version.js';
import { DASHBOARD_HTML } from './dashboard-html.js';
import type { EventLog } from './event-log.js';
import type { OpsDeps } from './sources.js';
import type { TrafficTracker } from './traffic-tracker.js';

const MAX_URL_LENGTH = 2048;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const text = JSON.stringify({ error: code, message });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Constant-time token comparison on fixed-length digests. */
function tokenMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export class StatusServer {
  readonly #deps: OpsDeps;
  readonly #tracker: TrafficTracker;
  readonly #registry: Registry;
  readonly #events: EventLog;
  readonly #startedAt = Date.now();
  #config: Config;
  #server: Server | null = null;

  constructor(deps: OpsDeps, tracker: TrafficTracker, registry: Registry, events: EventLog) {
    this.#deps = deps;
    this.#events = events;
    this.#tracker = tracker;
    this.#registry = registry;
    this.#config = deps.config;
  }

  reload(config: Config): void {
    // The admin token and everything read per request follow the new config;
    // a changed STATUS_LISTEN takes a restart (documented in docs/operations.md).
    this.#config = config;
  }

  async listen(): Promise<void> {
    const listen = this.#config.statusListen;
    if (!listen) return;
    const server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        this.#deps.logger.error('status_handler_failed', { error: err instanceof Error ? err.message : String(err) });
        if (!res.headersSent) sendError(res, 500, 'internal_error', 'internal error');
        else res.destroy();
      });
    });
    server.headersTimeout = 10_000;
    server.requestTimeout = 15_000;
    server.keepAliveTimeout = 5_000;
    server.maxHeadersCount = 50;
    server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listen.port, listen.address, () => {
        server.off('error', reject);
        server.on('error', (err) => this.#deps.logger.error('status_server_error', { error: err.message }));
        resolve();
      });
    });
    this.#server = server;
  }

  /** The bound address (port 0 in tests resolves here). */
  address(): { address: string; port: number } | null {
    const a = this.#server?.address();
    if (!a || typeof a === 'string') return null;
    return { address: a.address, port: a.port };
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    if (rawUrl.length > MAX_URL_LENGTH) return sendError(res, 414, 'uri_too_long', 'URI too long');
    let path: string;
    try {
      path = new URL(rawUrl, 'http://status.invalid').pathname;
    } catch {
      return sendError(res, 400, 'bad_url', 'malformed URL');
    }
    const method = req.method ?? 'GET';
    if (method === 'DELETE') return this.#handleDelete(req, res, path);
    if (method !== 'GET' && method !== 'HEAD') {
      return sendError(res, 405, 'method_not_allowed', 'use GET, or DELETE for admin actions', { allow: 'GET, HEAD, DELETE' });
    }
    switch (path) {
      case '/':
      case '/index.html':
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
          'content-security-policy': "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
        });
        res.end(DASHBOARD_HTML);
        return;
      case '/api/status':
        return sendJson(res, 200, this.#status());
      case '/api/sessions':
        return sendJson(res, 200, this.#sessions());
      case '/api/peers':
        return sendJson(res, 200, this.#deps.interconnect?.peers() ?? []);
      case '/api/shares':
        return sendJson(res, 200, this.#deps.proxy?.shares() ?? []);
      case '/api/files':
        return sendJson(res, 200, this.#deps.proxy?.files() ?? []);
      case '/api/events':
        return sendJson(res, 200, this.#events.list());
      case '/metrics': {
        const text = await this.#registry.metrics();
        res.writeHead(200, { 'content-type': this.#registry.contentType });
        res.end(text);
        return;
      }
      default:
        return sendError(res, 404, 'not_found', `no such endpoint: ${path}`);
    }
  }

  #status(): Record<string, unknown> {
    const { core, interconnect, sip, mixer, proxy } = this.#deps;
    const cfg = this.#config;
    let participants = 0;
    const names = core.sessionNames();
    for (const s of names) participants += core.participantIds(s).length;
    const peers = interconnect?.peers() ?? [];
    const mem = process.memoryUsage();
    return {
      reflectorId: cfg.reflectorId,
      version: VERSION,
      pid: process.pid,
      startedAt: new Date(this.#startedAt).toISOString(),
      uptimeS: Math.round((Date.now() - this.#startedAt) / 1000),
      listenAddress: cfg.listenAddress,
      publicAddress: cfg.publicAddress,
      ports: {
        sip: cfg.sipPort,
        audio: cfg.audioPort,
        video: cfg.videoPort,
        keepalive: `${cfg.keepalivePorts.first}-${cfg.keepalivePorts.last}`,
        checkip: cfg.checkipPort,
        fileTransfer: cfg.fileTransferPort,
      },
      sessions: names.length,
      participants,
      peers: { total: peers.length, up: peers.filter((p) => p.up).length },
      shares: proxy?.shares().length ?? 0,
      files: proxy?.files().length ?? 0,
      drops: { reflector: core.drops(), interconnect: interconnect?.drops() ?? {} },
      handled: core.counters?.() ?? {},
      sip: sip?.stats() ?? {},
      mixer: mixer?.stats() ?? {},
      proxy: proxy?.stats() ?? {},
      memory: { rssBytes: mem.rss, heapUsedBytes: mem.heapUsed },
    };
  }

  #sessions(): unknown[] {
    const { core, interconnect } = this.#deps;
    const peers = interconnect?.peers() ?? [];
    const local = core.snapshot();
    const out: unknown[] = [];
    const seen = new Set<string>();
    const remoteFor = (name: string): Record<string, number> => {
      const counts: Record<string, number> = {};
      for (const p of peers) {
        const n = p.sessions[name];
        if (n !== undefined && n > 0) counts[p.key] = n;
      }
      return counts;
    };
    for (const s of local) {
      seen.add(s.name);
      out.push({
        name: s.name,
        createdAt: new Date(s.createdAt).toISOString(),
        participants: s.participants.map((p) => ({
          ...p,
          joinedAt: new Date(p.joinedAt).toISOString(),
          lastRtcpAt: p.lastRtcpAt === undefined ? null : new Date(p.lastRtcpAt).toISOString(),
          lastActivityAt: new Date(p.lastActivityAt).toISOString(),
          rate: this.#tracker.rate(p.id) ?? { inBitsPerS: 0, outBitsPerS: 0 },
        })),
        remoteCounts: remoteFor(s.name),
      });
    }
    // Sessions that live only at peers (SPEC §4: a session exists while it has participants here or at a peer).
    for (const p of peers) {
      for (const [name, n] of Object.entries(p.sessions)) {
        if (n > 0 && !seen.has(name)) {
          seen.add(name);
          out.push({ name, createdAt: null, participants: [], remoteCounts: remoteFor(name) });
        }
      }
    }
    return out;
  }

  #authorize(req: IncomingMessage, res: ServerResponse): boolean {
    const token = this.#config.adminToken;
    if (token === undefined || token === '') {
      sendError(res, 403, 'mutations_disabled', 'no ADMIN_TOKEN is configured: admin actions are disabled');
      return false;
    }
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m || !tokenMatches(m[1], token)) {
      sendError(res, 401, 'unauthorized', 'a valid bearer token is required', { 'www-authenticate': 'Bearer realm="rtp-reflector"' });
      return false;
    }
    return true;
  }

  #handleDelete(req: IncomingMessage, res: ServerResponse, path: string): void {
    const participant = /^\/api\/(?:sessions\/[^/]+\/)?participants\/([^/]+)$/.exec(path);
    const session = /^\/api\/sessions\/([^/]+)$/.exec(path);
    if (!participant && !session) return sendError(res, 404, 'not_found', `no such endpoint: ${path}`);
    if (!this.#authorize(req, res)) return;
    const { core, logger } = this.#deps;
    let decoded: string;
    try {
      decoded = decodeURIComponent((participant ?? session)?.[1] ?? '');
    } catch {
      return sendError(res, 400, 'bad_url', 'malformed percent-encoding');
    }
    if (participant) {
      if (!core.has(decoded)) return sendError(res, 404, 'no_such_participant', 'no such participant');
      core.leave(decoded, 'kicked');
      logger.info('admin_kick', { participant: decoded });
      return sendJson(res, 200, { removed: [decoded] });
    }
    const ids = [...core.participantIds(decoded)];
    if (ids.length === 0) return sendError(res, 404, 'no_such_session', 'no such session');
    for (const id of ids) core.leave(id, 'kicked');
    logger.info('admin_end_session', { session: decoded, participants: ids.length });
    return sendJson(res, 200, { removed: ids });
  }
}
