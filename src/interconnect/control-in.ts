/**
 * Receiving control: one RTCP datagram from a peer's relay RTCP port read as an RFLX
 * control packet (HELLO, SESSION_STATE, 18–20), authenticated with the link's secret
 * and checked for shape before it changes any state.
 */
import { decodeJoins, decodeOrigins, decodeRoutes } from '../rtp/relay-routing.js';
import { findRflxApp, parseRflx, verifyRflxAuth } from '../rtp/rflx.js';
import { RflxSubtype, type RflxMessage } from '../rtp/rflx-types.js';
import { isValidSessionName } from '../rtp/session-name.js';
import { InterconnectDrop } from './drop-reasons.js';

/** SPEC §6: TIMESTAMP within ±60 s of the receiver's clock. */
export const TIMESTAMP_TOLERANCE_MS = 60_000;

const EMPTY_BUFFER = Buffer.alloc(0);

/** A control packet that passed: the message and its decoded ROUTES / ORIGINS / JOINS. */
export interface ControlIn {
  readonly message: RflxMessage;
  readonly routes: Map<number, number> | undefined;
  readonly origins: Map<number, number> | undefined;
  readonly joins: Set<number> | undefined;
}

/** The packet, or the drop reason. `secret`: the link's, if it has one; `now`: ms since epoch. */
export function readControl(msg: Buffer, secret: string | undefined, now: number): ControlIn | string {
  // SPEC §7: the APP packet alone or anywhere inside a compound RTCP packet.
  const at = findRflxApp(msg);
  if (at === null) return InterconnectDrop.NotRflx;
  const message = parseRflx(msg, at.offset, at.length);
  if (typeof message === 'string') return message;
  const f = message.fields;
  // SPEC §6: with a secret, AUTH (last TLV), TIMESTAMP ±60 s and SEQ per BOOT_EPOCH.
  if (secret !== undefined) {
    if (f.auth === undefined) return InterconnectDrop.AuthMissing;
    if (!verifyRflxAuth(msg, at.offset, at.length, secret)) {
      return InterconnectDrop.AuthFailed;
    }
    if (f.timestamp === undefined) return InterconnectDrop.TimestampMissing;
    const skew = Number(f.timestamp) - now;
    if (skew > TIMESTAMP_TOLERANCE_MS || skew < -TIMESTAMP_TOLERANCE_MS) {
      return InterconnectDrop.StaleTimestamp;
    }
    if (f.seq === undefined) return InterconnectDrop.SeqMissing;
  }
  // Shape before any state changes.
  let routes: Map<number, number> | undefined;
  let origins: Map<number, number> | undefined;
  let joins: Set<number> | undefined;
  switch (message.subtype) {
    case RflxSubtype.Hello: {
      if (f.reflectorId === undefined || f.bootEpoch === undefined) {
        return InterconnectDrop.HelloMalformed;
      }
      if (f.nodeId === 0) return InterconnectDrop.HelloMalformed;
      if (f.nodeId !== undefined) {
        const r = decodeRoutes(f.routes ?? EMPTY_BUFFER);
        if (typeof r === 'string') return r;
        routes = r;
      }
      break;
    }
    case RflxSubtype.SessionState: {
      if (f.session === undefined || f.relayId === undefined || f.count === undefined) {
        return InterconnectDrop.SessionStateMalformed;
      }
      if (!isValidSessionName(f.session)) return InterconnectDrop.BadSessionName;
      if (f.origins !== undefined) {
        const o = decodeOrigins(f.origins);
        if (typeof o === 'string') return o;
        origins = o;
      }
      if (f.joins !== undefined) {
        const j = decodeJoins(f.joins);
        if (typeof j === 'string') return j;
        joins = j;
      }
      break;
    }
    case RflxSubtype.PeerShareAnnounce:
    case RflxSubtype.PeerShareEnd:
    case RflxSubtype.PeerFileAnnounce:
      break;
    default:
      return InterconnectDrop.UnexpectedSubtype;
  }
  return { message, routes, origins, joins };
}
