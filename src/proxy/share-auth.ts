/**
 * The authenticating first line of a share connection (SPEC §8.2, §8.4):
 * `SHARE <id> <passkey>` on the server port, `VIEW <id> <passkey>` on the client port.
 */
import type { Socket } from 'node:net';
import { passkeyMatches } from './passkey.js';
import { type ShareContext, ShareDrop, type ShareInfo } from './share-types.js';
import { closeWith, LINE_MAX_BYTES, LineError, parseAuthLine, readLine } from './tcp-line.js';

/**
 * Reads and checks the first line. On success returns the bytes after it (the
 * socket is paused); on failure the socket has been answered `ERR` or closed,
 * and null is returned.
 */
export async function authenticateShareLine(
  socket: Socket,
  verb: 'SHARE' | 'VIEW',
  info: ShareInfo,
  ctx: ShareContext,
): Promise<Buffer | null> {
  // Admission (per share port, tcp-admission.ts) ran when the connection was accepted; a refused one is destroyed.
  const ticket = ctx.ticket(socket);
  if (ticket === undefined || socket.destroyed) {
    socket.destroy();
    return null;
  }
  // readLine always settles (line, deadline, length bound or close).
  const result = await readLine(socket, LINE_MAX_BYTES, ticket.handshakeTimeoutMs);
  ticket.settled();
  if (!result.ok) {
    if (result.error === LineError.Timeout) {
      ctx.drops.add(ShareDrop.HandshakeTimeout);
      closeWith(socket, 'ERR timeout');
    } else if (result.error === LineError.TooLong) {
      ctx.drops.add(ShareDrop.LineTooLong);
      closeWith(socket, 'ERR line_too_long');
    } else {
      socket.destroy();
    }
    return null;
  }
  const line = parseAuthLine(result.line, 0);
  if (line === null || line.verb !== verb) {
    ctx.drops.add(ShareDrop.BadLine);
    closeWith(socket, 'ERR bad_request');
    return null;
  }
  // Unknown id and wrong passkey get the same answer.
  const keyOk = passkeyMatches(info.passkey, line.passkey);
  if (!keyOk || line.id !== info.id) {
    ctx.drops.add(ShareDrop.Denied);
    closeWith(socket, 'ERR denied');
    return null;
  }
  return result.rest;
}
