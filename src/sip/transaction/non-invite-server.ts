/**
 * Non-INVITE server transaction, RFC 3261 §17.2.2.
 *
 *        request (created)
 *             V
 *       +-----------+ 1xx sent  +-----------+
 *       |  Trying   |---------->|Proceeding | retransmission → resend 1xx
 *       +-----------+           +-----------+
 *             | final sent            | final sent
 *             V                       V
 *       +-----------+ retransmission → resend final
 *       | Completed | Timer J (64·T1 UDP, 0 TCP)
 *       +-----------+ ----------> Terminated
 */
import { TimerSet } from '../../runtime/timer-set.js';
import { TIMEOUT_64T1_MS, type TransactionIo } from './timers.js';

export type NonInviteServerState = 'trying' | 'proceeding' | 'completed' | 'terminated';

export type NonInviteServerEvent =
  | { readonly type: 'retransmission' }
  | { readonly type: 'respond'; readonly status: number; readonly data: Buffer }
  | { readonly type: 'timer'; readonly name: 'J' }
  /** The transport could not send a response (RFC 3261 §17.2.4): the transaction ends. */
  | { readonly type: 'transport-error' };

export class NonInviteServerTransaction {
  #state: NonInviteServerState = 'trying';
  readonly #timers = new TimerSet();
  readonly #io: TransactionIo;
  readonly #onTerminated: () => void;
  #last: Buffer | null = null;

  constructor(io: TransactionIo, onTerminated: () => void) {
    this.#io = io;
    this.#onTerminated = onTerminated;
  }

  get state(): NonInviteServerState {
    return this.#state;
  }

  handle(ev: NonInviteServerEvent): void {
    if (this.#state === 'terminated') return;
    switch (ev.type) {
      case 'retransmission':
        // RFC 3261 §17.2.2: Trying absorbs; Proceeding/Completed resend the last response.
        if (this.#last !== null) this.#io.send(this.#last);
        return;
      case 'respond':
        if (this.#state === 'completed') return;
        this.#last = ev.data;
        this.#io.send(ev.data);
        if (ev.status < 200) {
          this.#state = 'proceeding';
          return;
        }
        this.#state = 'completed';
        if (this.#io.reliable) this.#terminate();
        else this.#timers.set('J', TIMEOUT_64T1_MS, () => this.handle({ type: 'timer', name: 'J' }));
        return;
      case 'timer':
      case 'transport-error':
        this.#terminate();
        return;
    }
  }

  #terminate(): void {
    if (this.#state === 'terminated') return;
    this.#state = 'terminated';
    this.#timers.dispose();
    this.#onTerminated();
  }

  dispose(): void {
    this.#terminate();
  }
}
