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
    const joined = (p: { id: string; session: string; user?: string; mode: string; label?: string }): void =>
      this.add('join', { session: p.session, participant: p.id, user: p.user ?? null, mode: p.mode, label: p.label ?? null });
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

  detach(): void {
    for (const d of this.#detach.splice(0)) d();
    this.#logger = null;
  }
}
