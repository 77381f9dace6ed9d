/**
 * INVITE server transaction, RFC 3261 §17.2.1 with the RFC 6026 "Accepted"
 * state. The UAS core's retransmission of the 2xx until ACK (RFC 3261
 * §13.3.1.4) lives in the Accepted state as well, so every timer of the
 * INVITE exchange belongs to one machine.
 *
 *                     |INVITE (created)
 *                     V
 *   INVITE        +-----------+  2xx sent: 2xx retransmissions (UDP, T1 doubling to T2) + Timer L
 *   -> resend     |Proceeding |-----------------------------------+
 *   last 1xx      +-----------+                                   V
 *                     | 300-699 sent                        +-----------+  ACK of the 2xx (from the dialog):
 *                     | Timer G (UDP), Timer H              | Accepted  |  retransmissions stop; INVITE
 *                     V                                     +-----------+  retransmissions absorbed
 *   INVITE        +-----------+  Timer H: ack-timeout             | Timer L (64·T1): terminated,
 *   -> resend     | Completed |------------------+                |   ack-timeout if never ACKed
 *   final         +-----------+                  |                V
 *                     | ACK                      +---------> +-----------+
 *                     V                                      |Terminated |
 *                 +-----------+  Timer I (T4 UDP, 0 TCP) --> +-----------+
 *                 | Confirmed |
 *                 +-----------+
 */
import { TimerSet } from '../../runtime/timer-set.js';
import { T1_MS, T2_MS, T4_MS, TIMEOUT_64T1_MS, type TransactionIo } from './timers.js';

export type InviteServerState = 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';

export type InviteServerEvent =
  | { readonly type: 'retransmission' }
  /** The ACK of a non-2xx final (same branch). */
  | { readonly type: 'ack' }
  /** The ACK of the 2xx, matched by the dialog (its own branch). */
  | { readonly type: 'ack-2xx' }
  | { readonly type: 'respond'; readonly status: number; readonly data: Buffer }
  | { readonly type: 'timer'; readonly name: 'G' | 'H' | 'I' | 'L' | '2xx' }
  | { readonly type: 'transport-error' };

export interface InviteServerCallbacks {
  /** No ACK arrived for a final response within 64·T1 (2xx: the dialog must be torn down). */
  onAckTimeout(status: number): void;
  onTerminated(): void;
  /**
   * The transport could not send a response (RFC 3261 §17.2.4: the TU is informed). `status` is the
   * response that failed; for a 2xx no ACK can come, so the dialog must be torn down.
   */
  onTransportError?(status: number): void;
}

export class InviteServerTransaction {
  #state: InviteServerState = 'proceeding';
  readonly #timers = new TimerSet();
  readonly #io: TransactionIo;
  readonly #cb: InviteServerCallbacks;
  #last: Buffer | null = null;
  #lastStatus = 0;
  #interval = T1_MS;
  #acked = false;

  constructor(io: TransactionIo, cb: InviteServerCallbacks) {
    this.#io = io;
    this.#cb = cb;
  }

  get state(): InviteServerState {
    return this.#state;
  }

  get finalStatus(): number {
    return this.#lastStatus >= 200 ? this.#lastStatus : 0;
  }

  handle(ev: InviteServerEvent): void {
    if (this.#state === 'terminated') return;
    switch (ev.type) {
      case 'retransmission':
        // RFC 3261 §17.2.1: a retransmitted INVITE gets the last provisional or final response again.
        // In Accepted (RFC 6026 §7.1) the 2xx retransmissions run on their own timer; absorb.
        if ((this.#state === 'proceeding' || this.#state === 'completed') && this.#last !== null) {
          this.#io.send(this.#last);
        }
        return;
      case 'respond':
        this.#respond(ev.status, ev.data);
        return;
      case 'ack':
        // RFC 3261 §17.2.1: ACK in Completed → Confirmed, Timer I (T4 UDP, 0 reliable).
        if (this.#state === 'completed') {
          this.#timers.clear('G');
          this.#timers.clear('H');
          this.#enter('confirmed');
          if (this.#io.reliable) this.#terminate();
          else this.#timers.set('I', T4_MS, () => this.handle({ type: 'timer', name: 'I' }));
        }
        return;
      case 'ack-2xx':
        // RFC 3261 §13.3.1.4: the ACK stops the 2xx retransmissions. The machine stays in Accepted
        // until Timer L (RFC 6026 §7.1) so that late INVITE retransmissions are still absorbed.
        if (this.#state === 'accepted') {
          this.#timers.clear('2xx');
          this.#acked = true;
        }
        return;
      case 'timer':
        this.#onTimer(ev.name);
        return;
      case 'transport-error': {
        const status = this.#lastStatus;
        this.#terminate();
        this.#cb.onTransportError?.(status);
        return;
      }
    }
  }

  #respond(status: number, data: Buffer): void {
    if (this.#state !== 'proceeding') return; // only one final response
    this.#last = data;
    this.#lastStatus = status;
    this.#io.send(data);
    if (status < 200) return;
    if (status < 300) {
      // RFC 6026 §8.5: 2xx → Accepted, Timer L = 64·T1; RFC 3261 §13.3.1.4: retransmit over UDP.
      this.#enter('accepted');
      this.#timers.set('L', TIMEOUT_64T1_MS, () => this.handle({ type: 'timer', name: 'L' }));
      if (!this.#io.reliable) {
        this.#interval = T1_MS;
        this.#timers.set('2xx', this.#interval, () => this.handle({ type: 'timer', name: '2xx' }));
      }
      return;
    }
    // RFC 3261 §17.2.1: 300-699 → Completed, Timer G (UDP) and Timer H.
    this.#enter('completed');
    if (!this.#io.reliable) {
      this.#interval = T1_MS;
      this.#timers.set('G', this.#interval, () => this.handle({ type: 'timer', name: 'G' }));
    }
    this.#timers.set('H', TIMEOUT_64T1_MS, () => this.handle({ type: 'timer', name: 'H' }));
  }

  #onTimer(name: 'G' | 'H' | 'I' | 'L' | '2xx'): void {
    switch (name) {
      case 'G':
      case '2xx': {
        const want = name === 'G' ? 'completed' : 'accepted';
        if (this.#state !== want || this.#last === null) return;
        this.#io.send(this.#last);
        this.#interval = Math.min(this.#interval * 2, T2_MS);
        this.#timers.set(name, this.#interval, () => this.handle({ type: 'timer', name }));
        return;
      }
      case 'H':
      case 'L':
        if (this.#state === 'accepted' && this.#acked) {
          this.#terminate();
          return;
        }
        // RFC 3261 §17.2.1 Timer H / §13.3.1.4: no ACK within 64·T1.
        if (this.#state === 'completed' || this.#state === 'accepted') {
          const status = this.#lastStatus;
          this.#terminate();
          this.#cb.onAckTimeout(status);
        }
        return;
      case 'I':
        if (this.#state === 'confirmed') this.#terminate();
        return;
    }
  }

  #enter(s: InviteServerState): void {
    this.#state = s;
  }

  #terminate(): void {
    if (this.#state === 'terminated') return;
    this.#state = 'terminated';
    this.#timers.dispose();
    this.#cb.onTerminated();
  }

  /** Ends the machine without callbacks' side effects other than onTerminated (shutdown). */
  dispose(): void {
    this.#terminate();
  }
}
