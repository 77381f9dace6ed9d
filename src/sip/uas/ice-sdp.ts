/**
 * ICE-lite in the SDP answer (SPEC §16; RFC 8445 §2.5, RFC 8839) and rtcp-mux
 * (RFC 5761 §5.1.3).
 *
 * When the offer carries ICE credentials (a=ice-ufrag and a=ice-pwd, at session
 * or media level), the answer gets, at session level, `a=ice-lite`, our
 * `a=ice-ufrag` / `a=ice-pwd` for this participant, and per accepted stream a
 * host candidate for each of our media ports (component 1 = RTP port, component 2
 * = RTCP port unless rtcp-mux is accepted), at PUBLIC_ADDRESS. The `c=`/`m=`
 * lines are the same as without ICE, so a client that does not do ICE is
 * answered exactly as before.
 *
 * Our credentials are derived from the dialog's SDP session id (the o= line,
 * stable for the dialog) and the offerer's ufrag, with a per-process random key: a
 * re-INVITE is answered with the same ufrag/pwd without the dialog storing them, and
 * an offer that restarts ICE (new ufrag/pwd, RFC 8839 §4.4.1.1.2) gets new ones.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type * as sdpTransform from 'sdp-transform';
import type { IceCredentials } from '../../reflector/api.js';

const PROCESS_KEY = randomBytes(32);
/** RFC 8839 §5.4: ufrag 4–256 ice-chars, pwd 22–256; ice-char = ALPHA / DIGIT / "+" / "/". */
const ICE_CHARS = /^[A-Za-z0-9+/]+$/;
const UFRAG_MIN = 4;
const PWD_MIN = 22;
const ICE_MAX = 256;
/** RFC 8445 §5.1.2.1: host type preference 126, local preference 65535. */
const HOST_TYPE_PREFERENCE = 126;
const LOCAL_PREFERENCE = 65535;

/** Our ufrag (8 chars, 48 bits) and pwd (24 chars, 144 bits) for the dialog with SDP session id `sessionId` and the offerer's ufrag. */
export function localIceCredentials(sessionId: number, remoteUfrag: string): { ufrag: string; pwd: string } {
  const mac = createHmac('sha256', PROCESS_KEY).update(`ice:${sessionId}:${remoteUfrag}`).digest();
  // Standard base64 uses only ice-chars (A–Z a–z 0–9 + /); 6 and 18 bytes have no padding.
  return { ufrag: mac.subarray(0, 6).toString('base64'), pwd: mac.subarray(6, 24).toString('base64') };
}

function validIceString(v: unknown, min: number): v is string {
  return typeof v === 'string' && v.length >= min && v.length <= ICE_MAX && ICE_CHARS.test(v);
}

/** The offerer's ufrag for media description `m` (media level wins over session level), or undefined without valid ICE credentials. */
export function offeredIceUfrag(offer: sdpTransform.SessionDescription, m: sdpTransform.MediaDescription): string | undefined {
  const ufrag = m.iceUfrag ?? offer.iceUfrag;
  const pwd = m.icePwd ?? offer.icePwd;
  if (!validIceString(ufrag, UFRAG_MIN) || !validIceString(pwd, PWD_MIN)) return undefined;
  return ufrag;
}

/** True when media description `m` offers RTCP multiplexed on the RTP port (RFC 5761 §5.1.1). */
export function offersRtcpMux(m: sdpTransform.MediaDescription): boolean {
  return m.rtcpMux === 'rtcp-mux';
}

export function candidatePriority(component: number): number {
  return HOST_TYPE_PREFERENCE * 2 ** 24 + LOCAL_PREFERENCE * 2 ** 8 + (256 - component);
}

/** Host candidates of one of our media ports: RTP (component 1) and, without rtcp-mux, RTCP (component 2). */
export function hostCandidates(publicAddress: string, port: number, rtcpMux: boolean): NonNullable<sdpTransform.MediaDescription['candidates']> {
  const out: NonNullable<sdpTransform.MediaDescription['candidates']> = [
    { foundation: '1', component: 1, transport: 'UDP', priority: candidatePriority(1), ip: publicAddress, port, type: 'host' },
  ];
  if (!rtcpMux) out.push({ foundation: '1', component: 2, transport: 'UDP', priority: candidatePriority(2), ip: publicAddress, port: port + 1, type: 'host' });
  return out;
}

/** Adds the session-level ICE-lite attributes of our answer. */
export function addSessionIce(answer: sdpTransform.SessionDescription, creds: { ufrag: string; pwd: string }): void {
  answer.icelite = 'ice-lite';
  answer.iceUfrag = creds.ufrag;
  answer.icePwd = creds.pwd;
}

/** The stream's ICE credentials for the core. */
export function streamIce(creds: { ufrag: string; pwd: string }, remoteUfrag: string): IceCredentials {
  return { ufrag: creds.ufrag, pwd: creds.pwd, remoteUfrag };
}
