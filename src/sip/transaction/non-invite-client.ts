/**
 * Non-INVITE client transaction, RFC 3261 §17.1.2 (the reflector's own BYE).
 *
 *        request sent; Timer E (T1, UDP), Timer F (64·T1)
 *             V
 *       +-----------+ Timer E: resend, E = min(2E, T2)
 *       |  Trying   |------------------+ 1xx
 *       +-----------+                  V
 *             |               +-----------+ Timer E: resend, E = T2
 *             | final         |Proceeding |
 *             V               +-----------+
 *       +-----------+<--------------+ final
 *       | Completed | Timer K (T4 UDP, 0 TCP)      Timer F anywhere before: timeout
 *       +-----------+ ----------> Terminated
 */
import { TimerSet } from '../../runtime/timer-set.js';
import { T1_MS, T2_MS, T4_MS, TIMEOUT_64T1_MS, type TransactionIo } from './timers.js';

export type NonInviteClientState = 'trying' | 'proceeding' | 'completed' | 'terminated';

export type NonInviteClientEvent =
  | { readonly type: 'response'; readonly status: number }
  | { readonly type: 'timer'; readonly name: 'E' | 'F' | 'K' }
  | { readonly type: 'transport-error' };

export interface NonInviteClientCallbacks {
  /** A final response, or 408 on Timer F, 503 on a transport error (RFC 3261 §8.1.3.1). */
  onFinal(status: number): void;
  onTerminated(): void;
}

export class NonInviteClientTransaction {
  #state: NonInviteClientState = 'trying';
  readonly #timers = new TimerSet();
  readonly #io: TransactionIo;
  readonly #cb: NonInviteClientCallbacks;
  readonly #request: Buffer;
  #interval = T1_MS;

  constructor(io: TransactionIo, request: Buffer, cb: NonInviteClientCallbacks) {
    this.#io = io;
    this.#cb = cb;
    this.#request = request;
  }

  get state(): NonInviteClientState {
    return this.#state;
  }

  /** Sends the request and starts Timers E and F. */
  start(): void {
    this.#io.send(this.#request);
    if (!this.#io.reliable) this.#timers.set('E', this.#interval, () => this.handle({ type: 'timer', name: 'E' }));
    this.#timers.set('F', TIMEOUT_64T1_MS, () => this.handle({ type: 'timer', name: 'F' }));
  }

  handle(ev: NonInviteClientEvent): void {
    if (this.#state === 'terminated' || this.#state === 'completed' && ev.type !== 'timer') return;
    switch (ev.type) {
      case 'response':
        if (ev.status < 200) {
          this.#state = 'proceeding';
          return;
        }
        // RFC 3261 §17.1.2.2: final → Completed, Timer K.
        this.#timers.clear('E');
        this.#timers.clear('F');
        this.#state = 'completed';
        this.#cb.onFinal(ev.status);
        if (this.#io.reliable) this.#terminate();
        else this.#timers.set('K', T4_MS, () => this.handle({ type: 'timer', name: 'K' }));
        return;
      case 'timer':
        if (ev.name === 'E') {
          if (this.#state !== 'trying' && this.#state !== 'proceeding') return;
          this.#io.send(this.#request);
          this.#interval = this.#state === 'proceeding' ? T2_MS : Math.min(this.#interval * 2, T2_MS);
          this.#timers.set('E', this.#interval, () => this.handle({ type: 'timer', name: 'E' }));
        } else if (ev.name === 'F') {
          if (this.#state === 'completed') return;
          this.#terminate();
          this.#cb.onFinal(408);
        } else {
          this.#terminate();
        }
        return;
      case 'transport-error':
        this.#terminate();
        this.#cb.onFinal(503);
        return;
    }
  }

  #terminate(): void {
    if (this.#state === 'terminated') return;
    this.#state = 'terminated';
    this.#timers.dispose();
    this.#cb.onTerminated();
  }

  dispose(): void {
    this.#terminate();
  }
}
