/** RFC 3261 §17 timer values (Table 4), UDP values; over TCP the "wait" timers are 0. */
export const T1_MS = 500;
export const T2_MS = 4000;
export const T4_MS = 5000;
/** 64·T1: Timer B/F/H/J and the 2xx-without-ACK limit (RFC 3261 §13.3.1.4). */
export const TIMEOUT_64T1_MS = 64 * T1_MS;

/** I/O of a transaction: send bytes to the peer over the transport the transaction runs on. */
export interface TransactionIo {
  /** true over TCP: no retransmissions, no wait timers. */
  readonly reliable: boolean;
  send(data: Buffer): void;
}
