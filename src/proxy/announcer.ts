/**
 * Builds the RFLX messages of the proxy (SPEC §7): grants, errors, announcements
 * to participants (3, 4, 7) and to peers (18, 19, 20).
 */
import { encodeRflx } from '../rtp/rflx.js';
import { RflxSubtype, type RflxFields } from '../rtp/rflx-types.js';
import type { FileEntry } from './file-types.js';
import type { ShareInfo } from './share-types.js';

/** Where a share or file is reachable from this reflector's participants. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

function packet(subtype: number, fields: RflxFields): Buffer {
  return encodeRflx({ subtype, ssrc: 0, fields });
}

export function shareGrant(requestId: number, info: ShareInfo, at: Endpoint): Buffer {
  return packet(RflxSubtype.ShareGrant, { requestId, shareId: info.id, address: at.address, port: at.port, passkey: info.passkey });
}

export function fileGrant(requestId: number, entry: FileEntry, at: Endpoint): Buffer {
  return packet(RflxSubtype.FileGrant, { requestId, fileId: entry.id, address: at.address, port: at.port, passkey: entry.passkey });
}

export function errorAnswer(requestId: number, code: number, reason: string): Buffer {
  return packet(RflxSubtype.Error, { requestId, code, reason });
}

export function shareAnnounceFields(info: ShareInfo, at: Endpoint): RflxFields {
  return { shareId: info.id, address: at.address, port: at.port, passkey: info.passkey, sharer: info.sharer, title: info.title };
}

export function shareAnnounce(info: ShareInfo, at: Endpoint): Buffer {
  return packet(RflxSubtype.ShareAnnounce, shareAnnounceFields(info, at));
}

export function shareEnd(shareId: number): Buffer {
  return packet(RflxSubtype.ShareEnd, { shareId });
}

export function fileAnnounceFields(entry: FileEntry, at: Endpoint): RflxFields {
  return {
    fileId: entry.id,
    address: at.address,
    port: at.port,
    passkey: entry.passkey,
    name: entry.name,
    size: BigInt(entry.size),
    sha256: entry.sha256,
    sender: entry.sender,
  };
}

export function fileAnnounce(entry: FileEntry, at: Endpoint): Buffer {
  return packet(RflxSubtype.FileAnnounce, fileAnnounceFields(entry, at));
}
