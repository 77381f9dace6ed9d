/**
 * A bounded ring of recent operational events (joins, leaves with their reason,
 * sessions, peers up/down, peer session counts) for the dashboard and
 * `GET /api/events`. The parts log their own events; the one line written here
 * is `peer_session_count` (a peer's COUNT for a session changed), which the
 * interconnect reports only as an event.
 */
import type { Logger } from '../runtime/logger.js';
import type { OpsDeps } from './sources.js';

export interface OpsEvent {
  readonly at: string;
  readonly event: string;
  readonly [key: string]: unknown;
}

export class EventLog {
  readonly #max: number;
  readonly #ring: OpsEvent[] = [];
  readonly #detach: (() => void)[] = [];
  #logger: Logger | null = null;

  constructor(max = 200) {
    this.#max = max;
  }

  add(event: string, fields: Record<string, unknown> = {}, log = false): void {
    this.#ring.push({ at: new Date().toISOString(), event, ...fields });
    if (this.#ring.length > this.#max) this.#ring.shift();
    if (log) this.#logger?.info(event, fields);
  }

  /** Newest first. */
  list(): readonly OpsEvent[] {
    return [...this.#ring].reverse();
  }

  attach(deps: OpsDeps): void {
    const { core, interconnect } = deps;
    this.#logger = deps.logger;
    const joined = (p: { id: string; session: string; user?: string; displayName?: string; mode: string; label?: string }): void =>
      this.add('join', { session: p.session, participant: p.id, name: p.displayName ?? null, user: p.user ?? null, mode: p.mode, label: p.label ?? null });
    const removed = (id: string, session: string, reason: string): void =>
      this.add('leave', { session, participant: id, reason });
    const created = (name: string): void => this.add('session_start', { session: name });
    const empty = (name: string): void => this.add('session_end', { session: name });
    core.events.on('participant-joined', joined);
    core.events.on('participant-removed', removed);
    core.events.on('session-created', created);
    core.events.on('session-empty', empty);
    this.#detach.push(() => {
      core.events.off('participant-joined', joined);
      core.events.off('participant-removed', removed);
      core.events.off('session-created', created);
      core.events.off('session-empty', empty);
    });
    if (interconnect) {
      const up = (key: string): void => this.add('peer_up', { peer: key });
      const down = (key: string): void => this.add('peer_down', { peer: key });
      const count = (session: string, peer: string, n: number): void => this.add('peer_session_count', { peer, session, count: n }, true);
      interconnect.events.on('peer-up', up);
      interconnect.events.on('peer-down', down);
      interconnect.events.on('remote-count', count);
      this.#detach.push(() => {
        interconnect.events.off('peer-up', up);
        interconnect.events.off('peer-down', down);
        interconnect.events.off('remote-count', count);
      });
    }
  }

  readonly #shares = new Map<string, { title: string; session: string; sharer: string }>();
  readonly #files = new Map<string, { name: string; session: string; sender: string; size: number }>();

  /**
   * Share and file events, from the proxy's listings (called on the ops poll): share_start/share_end
   * and file_ready/file_removed with their session, title or name, sharer or sender, size.
   */
  pollListings(proxy: OpsDeps['proxy']): void {
    if (proxy === null) return;
    const shares = new Map<string, { title: string; session: string; sharer: string }>();
    for (const raw of proxy.shares()) {
      const s = raw as { id: number; origin?: string; peer?: string; title: string; session: string; sharer: string; live?: boolean };
      if (s.live === false) continue;
      shares.set(`${s.origin ?? ''}:${s.peer ?? ''}:${s.id}`, { title: s.title, session: s.session, sharer: s.sharer });
    }
    const files = new Map<string, { name: string; session: string; sender: string; size: number }>();
    for (const raw of proxy.files()) {
      const f = raw as { id: number; origin?: string; peer?: string; name: string; session: string; sender: string; size: number; state?: string };
      if (f.state === 'granted' || f.state === 'uploading') continue;
      files.set(`${f.origin ?? ''}:${f.peer ?? ''}:${f.id}`, { name: f.name, session: f.session, sender: f.sender, size: f.size });
    }
    for (const [k, v] of shares) if (!this.#shares.has(k)) this.add('share_start', v);
    for (const [k, v] of this.#shares) if (!shares.has(k)) this.add('share_end', v);
    for (const [k, v] of files) if (!this.#files.has(k)) this.add('file_ready', v);
    for (const [k, v] of this.#files) if (!files.has(k)) this.add('file_removed', v);
    this.#shares.clear();
    for (const [k, v] of shares) this.#shares.set(k, v);
    this.#files.clear();
    for (const [k, v] of files) this.#files.set(k, v);
  }

  detach(): void {
    for (const d of this.#detach.splice(0)) d();
    this.#logger = null;
  }
}
