/**
 * The one narrow way the core puts a datagram on the wire. Every send of the
 * fan-out, the keep-alive echo, sendTo() and STUN answers goes through a
 * PacketSender bound to one socket, so a batched (sendmmsg) sender can
 * replace DgramSender later without touching the core.
 *
 * Contract: the caller never mutates `buf` after send() (Node reads it
 * asynchronously, after the address lookup).
 */
import type { Socket } from 'node:dgram';

export interface PacketSender {
  send(buf: Buffer, port: number, address: string): void;
}

/** Counts of failed sends, shared by the senders of one core. */
export interface SendErrorCounter {
  sendErrors: number;
}

/** A PacketSender over a node:dgram socket. Send errors are counted, never thrown. */
export class DgramSender implements PacketSender {
  readonly #socket: Socket;
  readonly #errors: SendErrorCounter;
  readonly #onSent: (err: Error | null) => void;

  constructor(socket: Socket, errors: SendErrorCounter) {
    this.#socket = socket;
    this.#errors = errors;
    // One callback per socket, created once: a failed send is counted, not thrown.
    this.#onSent = (err) => {
      if (err !== null && err !== undefined) this.#errors.sendErrors++;
    };
  }

  send(buf: Buffer, port: number, address: string): void {
    try {
      this.#socket.send(buf, port, address, this.#onSent);
    } catch {
      // Socket closed or arguments refused by Node: count, never throw into the handler.
      this.#errors.sendErrors++;
    }
  }
}
