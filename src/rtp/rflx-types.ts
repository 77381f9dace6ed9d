/**
 * Types and numbers of the RTCP APP `RFLX` messages (SPEC §7). The codec that
 * reads and writes them is rflx.ts; this file is the shared vocabulary of the
 * core, the interconnect and the proxy.
 */

/** RTCP APP name, ASCII "RFLX". */
export const RFLX_NAME = 0x52464c58;

/** Subtypes (the 5-bit count field of the APP header). */
export const RflxSubtype = {
  ShareRequest: 1,
  ShareGrant: 2,
  ShareAnnounce: 3,
  ShareEnd: 4,
  FileRequest: 5,
  FileGrant: 6,
  FileAnnounce: 7,
  Error: 8,
  Hello: 16,
  SessionState: 17,
  PeerShareAnnounce: 18,
  PeerShareEnd: 19,
  PeerFileAnnounce: 20,
} as const;
export type RflxSubtype = (typeof RflxSubtype)[keyof typeof RflxSubtype];

/** TLV types. Type 0 is reserved: a type-0 byte ends the TLV list (padding). */
export const RflxTlv = {
  Title: 1,
  ShareId: 2,
  Port: 3,
  Passkey: 4,
  Address: 5,
  Sharer: 6,
  Name: 7,
  Size: 8,
  Sha256: 9,
  FileId: 10,
  Sender: 11,
  Code: 12,
  Reason: 13,
  ReflectorId: 14,
  BootEpoch: 15,
  Seq: 16,
  Session: 17,
  RelayId: 18,
  Count: 19,
  Timestamp: 20,
  Auth: 21,
  RequestId: 22,
  /** Interconnection graphs with cycles (docs/protocol.md): the sender's NODE_ID, u32 ≠ 0. */
  NodeId: 23,
  /** Distance vector: entries of NODE_ID u32 + METRIC u8 (relay-routing.ts). */
  Routes: 24,
  /** Per-origin counts: entries of NODE_ID u32 + COUNT u32. */
  Origins: 25,
  /** Origins whose media the sender asks for: entries of NODE_ID u32. */
  Joins: 26,
} as const;
export type RflxTlv = (typeof RflxTlv)[keyof typeof RflxTlv];

/** Decoded TLV values. Each is optional; which ones a subtype needs is SPEC §7's table. */
export interface RflxFields {
  title?: string;
  shareId?: number;
  port?: number;
  /** 16 bytes. */
  passkey?: Buffer;
  address?: string;
  sharer?: string;
  name?: string;
  size?: bigint;
  /** 32 bytes. */
  sha256?: Buffer;
  fileId?: number;
  sender?: string;
  code?: number;
  reason?: string;
  reflectorId?: string;
  bootEpoch?: bigint;
  seq?: number;
  session?: string;
  relayId?: number;
  count?: number;
  /** ms since epoch. */
  timestamp?: bigint;
  /** 16 bytes: first half of HMAC-SHA256 (SPEC §6). */
  auth?: Buffer | undefined;
  requestId?: number;
  nodeId?: number;
  /** Raw list values; decode with relay-routing.ts. */
  routes?: Buffer;
  origins?: Buffer;
  joins?: Buffer;
}

export interface RflxMessage {
  subtype: number;
  /** SSRC of the sender: the participant's audio SSRC, or 0 from a reflector. */
  ssrc: number;
  fields: RflxFields;
}

/** ERROR (subtype 8) codes sent by the reflector. */
export const RflxErrorCode = {
  BadRequest: 400,
  NotInSession: 403,
  TooLarge: 413,
  PoolExhausted: 503,
  SpoolFull: 507,
  Internal: 500,
} as const;
