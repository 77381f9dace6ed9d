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

/**
 * A PacketSender over a node:dgram socket. It passes no completion callback: that
 * lets libuv try the send synchronously without a JS callback per datagram. Node then
 * drops failed sends silently (UDP is lossy anyway); failures Node reports as socket
 * 'error' events are counted by the socket's error listener, synchronous throws here.
 */
export class DgramSender implements PacketSender {
  readonly #socket: Socket;
  readonly #errors: SendErrorCounter;

  constructor(socket: Socket, errors: SendErrorCounter) {
    this.#socket = socket;
    this.#errors = errors;
  }

  send(buf: Buffer, port: number, address: string): void {
    try {
      this.#socket.send(buf, port, address);
    } catch {
      // Socket closed or arguments refused by Node: count, never throw into the handler.
      this.#errors.sendErrors++;
    }
  }
}
