/**
 * The protected relay (docs/protocol.md, "Protected relay"): on a link with a
 * secret, relay datagrams are AES-256-GCM sealed with per-direction keys from
 * HKDF-SHA256(secret, NODE_IDs, BOOT_EPOCHs). Codec-level checks of relay-crypto,
 * then a real interconnect (127.0.20.x, stand-in core) against a raw peer that
 * derives the same keys: what it sends is version 3 and unreadable, a sealed
 * datagram of the raw peer is delivered once, and forged, replayed and
 * unprotected ones are dropped and counted.
 */
import { expect } from 'chai';
import { createSocket } from 'node:dgram';
import {
  RelayOpener,
  RelaySealer,
  deriveRelayKey,
  RELAY_REPLAY_WINDOW,
} from '../../src/interconnect/relay-crypto.js';
import { encodeJoins, encodeOrigins, encodeRoutes, METRIC_VIA_YOU } from '../../src/rtp/relay-routing.js';
import {
  RELAY_SHIM3_SIZE,
  RelayMedium,
  RelayShim,
  encodeRelayDatagram2,
  parseRelayShim,
  writeRelayShim3,
} from '../../src/rtp/relay-shim.js';
import { RflxSubtype } from '../../src/rtp/rflx-types.js';
import { waitUntil } from '../helpers/wait.js';
import { RELAY_PORT, rtpPacket, useTestNodes } from './harness.js';
import { RawPeer } from './raw-peer.js';

const SECRET = 'relay-secret';

function sealDatagram(sealer: RelaySealer, relayId: number, origin: number, originSeq: number, packet: Buffer): Buffer {
  const seq = sealer.next();
  const header = Buffer.alloc(RELAY_SHIM3_SIZE);
  writeRelayShim3(RelayMedium.Audio, 1, relayId, origin, originSeq, seq, header);
  const [ct, tag] = sealer.seal(seq, header, packet);
  return Buffer.concat([header, ct, tag]);
}

describe('interconnect: protected relay (AES-256-GCM)', () => {
  describe('relay-crypto', () => {
    const kAB = () => deriveRelayKey(SECRET, 1, 100n, 2, 200n);

    it('opens what it sealed; a flipped bit in header, ciphertext or tag fails', () => {
      const sealer = new RelaySealer(kAB());
      const opener = new RelayOpener(kAB());
      const packet = rtpPacket(1, 'payload-in-the-clear');
      const d = sealDatagram(sealer, 9, 1, 1, packet);
      expect(d.includes(Buffer.from('payload-in-the-clear'))).to.equal(false);
      const open = (b: Buffer): Buffer | null => opener.open(1, b.subarray(0, RELAY_SHIM3_SIZE), b.subarray(RELAY_SHIM3_SIZE, b.length - 16), b.subarray(b.length - 16));
      expect(open(d)?.equals(packet)).to.equal(true);
      for (const at of [2, 5, RELAY_SHIM3_SIZE + 3, d.length - 1]) {
        const t = Buffer.from(d);
        t[at] ^= 0x01;
        expect(open(t), `bit flipped at ${at}`).to.equal(null);
      }
    });

    it('binds keys to direction, NODE_IDs, BOOT_EPOCHs and the secret', () => {
      const packet = rtpPacket(1, 'x');
      const d = sealDatagram(new RelaySealer(kAB()), 9, 1, 1, packet);
      const tryKey = (k: ReturnType<typeof kAB>): Buffer | null =>
        new RelayOpener(k).open(1, d.subarray(0, RELAY_SHIM3_SIZE), d.subarray(RELAY_SHIM3_SIZE, d.length - 16), d.subarray(d.length - 16));
      expect(tryKey(kAB())).to.not.equal(null);
      expect(tryKey(deriveRelayKey(SECRET, 2, 200n, 1, 100n)), 'other direction').to.equal(null);
      expect(tryKey(deriveRelayKey(SECRET, 1, 101n, 2, 200n)), 'sender restarted').to.equal(null);
      expect(tryKey(deriveRelayKey(SECRET, 1, 100n, 2, 201n)), 'receiver restarted').to.equal(null);
      expect(tryKey(deriveRelayKey(SECRET, 1, 100n, 3, 200n)), 'other node').to.equal(null);
      expect(tryKey(deriveRelayKey('other', 1, 100n, 2, 200n)), 'other secret').to.equal(null);
    });

    it('replay window: each SEQ once, reordering inside the window accepted, older refused', () => {
      const o = new RelayOpener(kAB());
      const take = (s: number): boolean => { if (!o.fresh(s)) return false; o.accept(s); return true; };
      expect(take(0)).to.equal(false);
      expect(take(5)).to.equal(true);
      expect(take(5)).to.equal(false);
      expect(take(3)).to.equal(true);
      expect(take(3)).to.equal(false);
      expect(take(5 + RELAY_REPLAY_WINDOW)).to.equal(true);
      expect(take(6)).to.equal(true); // still inside (top - 6 < window)
      expect(take(5)).to.equal(false); // now outside
      expect(take(2 ** 40)).to.equal(true);
      expect(take(2 ** 40 - RELAY_REPLAY_WINDOW)).to.equal(false);
    });
  });

  describe('against a raw peer that holds the secret', () => {
    const t = useTestNodes();

    it('sends version 3 only, unreadable; delivers a sealed datagram once; drops forged, replayed and unprotected ones, counted', async () => {
      const A = '127.0.20.70';
      const R = '127.0.20.71';
      const a = await t.start(A, [R], { secret: SECRET });
      const raw = t.track(await RawPeer.bind(R));
      const rawNode = 0x0abc_def0;
      const rawEpoch = 12_345n;
      // The raw peer's HELLO: it reaches A through A (255), so A counts towards it and it can join A.
      const hello = async (seq: number, routes: Map<number, number>): Promise<void> => {
        await raw.sendControl(A, RflxSubtype.Hello, { reflectorId: 'raw', bootEpoch: rawEpoch, nodeId: rawNode, routes: encodeRoutes(routes) }, SECRET, { seq });
      };
      await hello(1, new Map([[rawNode, 0]]));
      const fromA = await waitUntil(() => raw.messages(RflxSubtype.Hello).find((m) => m.fields.nodeId !== undefined), 5000, 'HELLO from A');
      const aNode = fromA.fields.nodeId ?? 0;
      const aEpoch = fromA.fields.bootEpoch ?? 0n;
      await hello(2, new Map([[rawNode, 0], [aNode, METRIC_VIA_YOU]]));
      a.core.addParticipant('sealed');
      // A announces itself as origin; the raw peer has a participant and joins A's media.
      const announced = await waitUntil(() => raw.messages(RflxSubtype.SessionState).find((m) => m.fields.session === 'sealed' && (m.fields.count ?? 0) > 0), 5000, 'A announces');
      await raw.sendControl(A, RflxSubtype.SessionState, {
        session: 'sealed', relayId: 0x5eed, count: 1, bootEpoch: rawEpoch,
        origins: encodeOrigins(new Map([[rawNode, 1]])), joins: encodeJoins([aNode]),
      }, SECRET, { seq: 3 });
      await waitUntil(() => a.link.remoteCount('sealed') === 1, 5000, 'raw peer counted');

      // A → raw: version 3, no clear payload, opens with the key raw derives.
      a.core.sendFromParticipant('sealed', 'audio', false, rtpPacket(7, 'secret-words-from-a'));
      const got = await waitUntil(() => raw.relayed[0], 5000, 'relayed datagram');
      expect(got.data[1] >> 4).to.equal(3);
      expect(got.data.includes(Buffer.from('secret-words-from-a'))).to.equal(false);
      const shim = new RelayShim();
      expect(parseRelayShim(got.data, shim)).to.equal(null);
      expect(shim.relayId).to.equal(announced.fields.relayId);
      const opener = new RelayOpener(deriveRelayKey(SECRET, aNode, aEpoch, rawNode, rawEpoch));
      const d = got.data;
      const plain = opener.open(shim.seq, d.subarray(0, RELAY_SHIM3_SIZE), d.subarray(RELAY_SHIM3_SIZE, d.length - 16), d.subarray(d.length - 16));
      expect(plain?.equals(rtpPacket(7, 'secret-words-from-a'))).to.equal(true);

      // raw → A: a sealed datagram is delivered once.
      const sealer = new RelaySealer(deriveRelayKey(SECRET, rawNode, rawEpoch, aNode, aEpoch));
      const good = sealDatagram(sealer, 0x5eed, rawNode, 1, rtpPacket(8, 'from-raw'));
      await raw.sendRaw(A, false, good);
      await waitUntil(() => a.core.delivered.length === 1, 5000, 'sealed datagram delivered');
      expect(a.core.delivered[0].packet.equals(rtpPacket(8, 'from-raw'))).to.equal(true);

      // The same bytes again, from another source port of the peer's address: a replay.
      const other = createSocket('udp4');
      await new Promise<void>((r) => other.bind(0, R, r));
      try {
        await new Promise<void>((r, j) => other.send(good, RELAY_PORT, A, (e) => (e ? j(e) : r())));
        await waitUntil(() => a.link.drops().relay_replayed === 1, 5000, 'relay_replayed');
        // Forged: a flipped ciphertext bit.
        const forged = sealDatagram(sealer, 0x5eed, rawNode, 2, rtpPacket(9, 'forged'));
        forged[RELAY_SHIM3_SIZE + 2] ^= 0x40;
        await new Promise<void>((r, j) => other.send(forged, RELAY_PORT, A, (e) => (e ? j(e) : r())));
        await waitUntil(() => a.link.drops().relay_auth_failed === 1, 5000, 'relay_auth_failed');
        // Forged without the key: sealed with a key of another secret.
        const stranger = new RelaySealer(deriveRelayKey('guess', rawNode, rawEpoch, aNode, aEpoch));
        stranger.seq = 100; // a SEQ not seen yet, so the tag is what fails
        await new Promise<void>((r, j) => other.send(sealDatagram(stranger, 0x5eed, rawNode, 3, rtpPacket(10, 'guess')), RELAY_PORT, A, (e) => (e ? j(e) : r())));
        await waitUntil(() => a.link.drops().relay_auth_failed === 2, 5000, 'relay_auth_failed (wrong key)');
        // Unprotected (version 2) on a secret link.
        await new Promise<void>((r, j) => other.send(encodeRelayDatagram2(RelayMedium.Audio, 1, 0x5eed, rawNode, 4, rtpPacket(11, 'plain')), RELAY_PORT, A, (e) => (e ? j(e) : r())));
        await waitUntil(() => a.link.drops().relay_unprotected === 1, 5000, 'relay_unprotected');
      } finally {
        await new Promise<void>((r) => other.close(() => r()));
      }
      // Nothing of that reached the local participants.
      expect(a.core.delivered).to.have.length(1);
      // And a fresh sealed one still does.
      await raw.sendRaw(A, false, sealDatagram(sealer, 0x5eed, rawNode, 5, rtpPacket(12, 'after')));
      await waitUntil(() => a.core.delivered.length === 2, 5000, 'still serving');
    });
  });
});
