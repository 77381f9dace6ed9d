/**
 * The SIP front end (SPEC §4): entry point. The layers, bottom to top: transport/ (sockets,
 * framing, parsing), transaction/ (RFC 3261 §17), dialog/ (§12), uas/ (the conference UAS:
 * admission, digest, SDP); front-end.ts composes them into one Component.
 */
export { createSipFrontEnd, type DrainResult, type SipFrontEnd, type SipFrontEndDeps, type UserAgentOptions } from './front-end.js';
export { SipError } from './sip-error.js';
export type { TransportLimits } from './transport/transport.js';
