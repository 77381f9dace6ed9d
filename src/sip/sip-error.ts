/**
 * A request handler's refusal, as the SIP final response that carries it. Handlers of the
 * conference UAS (and of anything above the transaction layer) throw it; the transaction layer
 * catches it and sends the response through the request's server transaction (or statelessly when
 * thrown before one exists), so a handler never has to send and return by hand.
 */
export type SipHeader = readonly [name: string, value: string];

export class SipError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly SipHeader[];
  /** To tag for the response (dialog-creating requests refused with a tag, e.g. 401, 487). */
  readonly toTag: string | undefined;

  constructor(status: number, reason: string, headers: readonly SipHeader[] = [], toTag?: string) {
    super(`${status} ${reason}`);
    this.name = 'SipError';
    this.status = status;
    this.reason = reason;
    this.headers = headers;
    this.toTag = toTag;
  }
}
