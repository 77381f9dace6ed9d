/**
 * Anti-amplification (SPEC §5): where the core may send a participant's
 * medium. Only to a latched source, or to the SDP address once that IP has
 * proved return-routability (the dialog's ACK came from it, or a latched
 * packet of this participant did). A forged c= line is never a destination.
 */
import type { StreamState } from './participant.js';

export interface Destination {
  readonly address: string;
  readonly port: number;
}

/** The allowed destination of `stream`'s RTP (rtcp = 0) or RTCP (rtcp = 1), or null. */
export function allowedDestination(stream: StreamState, rtcp: 0 | 1): Destination | null {
  if (!stream.enabled) return null;
  const ip = stream.latchedIp[rtcp];
  if (ip !== null) return { address: ip, port: stream.latchedPort[rtcp] };
  const port = stream.sdpPort[rtcp];
  if (port === 0 || stream.sdpSendIp === '') return null;
  if (!stream.participant.confirmedIps.has(stream.sdpIp)) return null;
  return { address: stream.sdpSendIp, port };
}
