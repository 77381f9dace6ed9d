/**
 * The SRTP state of one participant's stream (SPEC §15): the inbound context
 * (the participant's key: decrypt what it sends) and the outbound context (the
 * reflector's answer key: encrypt what goes to it). Contexts survive a
 * re-INVITE that keeps the key, so rollover counters and replay windows
 * carry on; a new key starts a new context. Plain streams have neither.
 */
import type { SrtpStreamKeys } from './api.js';
import { SrtpInbound, SrtpOutbound } from '../srtp/srtp-context.js';
import type { SrtpKey } from '../srtp/srtp-keys.js';

export interface StreamSrtp {
  readonly keys: SrtpStreamKeys;
  readonly inbound: SrtpInbound;
  readonly outbound: SrtpOutbound;
}

function sameKey(a: SrtpKey, b: SrtpKey): boolean {
  const mkiA = a.mki ?? Buffer.alloc(0);
  const mkiB = b.mki ?? Buffer.alloc(0);
  return a.suite === b.suite && a.masterKey.equals(b.masterKey) && a.masterSalt.equals(b.masterSalt) &&
    a.lifetime === b.lifetime && mkiA.equals(mkiB);
}

/** The stream's SRTP state after an SDP (re)negotiation: reuses what did not change. */
export function nextStreamSrtp(current: StreamSrtp | null, keys: SrtpStreamKeys | undefined): StreamSrtp | null {
  if (keys === undefined) return null;
  const inbound = current !== null && sameKey(current.keys.remote, keys.remote) ? current.inbound : new SrtpInbound(keys.remote);
  const outbound = current !== null && sameKey(current.keys.local, keys.local) ? current.outbound : new SrtpOutbound(keys.local);
  return { keys, inbound, outbound };
}
