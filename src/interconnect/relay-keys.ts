/** Protected relay keys (docs/protocol.md "Protected relay"): derived per secret peer. */
import type { Peer } from './peer.js';
import { RelayOpener, RelaySealer, deriveRelayKey } from './relay-crypto.js';

/**
 * (Re)derives a secret peer's relay keys when the secret, a NODE_ID or a BOOT_EPOCH changed;
 * without all of them there are no keys. `nodeId` and `bootEpoch` are ours.
 */
export function updateRelayKeys(peer: Peer, nodeId: number, bootEpoch: bigint): void {
  const secret = peer.secret;
  if (secret === undefined || peer.nodeId === undefined || peer.epoch === undefined) {
    peer.sealer = undefined;
    peer.opener = undefined;
    peer.keyInputs = '';
    return;
  }
  const inputs = `${peer.nodeId}/${peer.epoch}/${nodeId}/${bootEpoch}/${secret}`;
  if (inputs === peer.keyInputs) return;
  peer.keyInputs = inputs;
  peer.sealer = new RelaySealer(deriveRelayKey(secret, nodeId, bootEpoch, peer.nodeId, peer.epoch));
  peer.opener = new RelayOpener(deriveRelayKey(secret, peer.nodeId, peer.epoch, nodeId, bootEpoch));
}
