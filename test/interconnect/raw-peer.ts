/**
 * A hand-driven peer for tests: two real UDP sockets on a 127.0.3.x address at
 * the relay port pair, recording the control messages it receives and sending
 * whatever control packets or relay datagrams a test composes (forged ones too).
 */
import { createSocket, type Socket } from 'node:dgram';
import type { RflxFields, RflxMessage } from '../../src/rtp/rflx-types.js';
import { encodeRflx, findRflxApp, parseRflx } from '../../src/rtp/rflx.js';
import { RelayMedium, encodeRelayDatagram } from '../../src/rtp/relay-shim.js';
import type { Medium } from '../../src/reflector/api.js';
import { RELAY_PORT } from './harness.js';

export interface Received {
  readonly message: RflxMessage;
  readonly at: number;
}

export class RawPeer {
  readonly address: string;
  readonly rtp: Socket;
  readonly rtcp: Socket;
  readonly control: Received[] = [];
  readonly relayed: { rtcp: boolean; data: Buffer }[] = [];
  #seq = 0;

  private constructor(address: string) {
    this.address = address;
    this.rtp = createSocket('udp4');
    this.rtcp = createSocket('udp4');
    this.rtp.on('message', (m) => this.relayed.push({ rtcp: false, data: m }));
    this.rtcp.on('message', (m) => {
      if (m[0] === 0x52) { this.relayed.push({ rtcp: true, data: m }); return; }
      const at = findRflxApp(m);
      const d = at === null ? null : parseRflx(m, at.offset, at.length);
      if (d !== null && typeof d !== 'string') this.control.push({ message: d, at: Date.now() });
    });
  }

  static async bind(address: string): Promise<RawPeer> {
    const p = new RawPeer(address);
    await Promise.all([
      new Promise<void>((r) => p.rtp.bind(RELAY_PORT, address, r)),
      new Promise<void>((r) => p.rtcp.bind(RELAY_PORT + 1, address, r)),
    ]);
    return p;
  }

  messages(subtype: number): RflxMessage[] {
    return this.control.filter((c) => c.message.subtype === subtype).map((c) => c.message);
  }

  /** Sends a control packet to `to` (its RTCP relay port); with a secret adds TIMESTAMP, SEQ, AUTH. */
  sendControl(to: string, subtype: number, fields: RflxFields, secret?: string, overrides: RflxFields = {}): Promise<void> {
    const all: RflxFields = { ...fields };
    if (secret !== undefined) {
      all.timestamp = BigInt(Date.now());
      all.seq = ++this.#seq;
    }
    Object.assign(all, overrides);
    return this.sendRaw(to, true, encodeRflx({ subtype, ssrc: 0, fields: all }, secret));
  }

  sendRelay(to: string, medium: Medium, rtcp: boolean, hop: number, relayId: number, packet: Buffer): Promise<void> {
    const m = medium === 'audio' ? RelayMedium.Audio : RelayMedium.Video;
    return this.sendRaw(to, rtcp, encodeRelayDatagram(m, hop, relayId, packet));
  }

  sendRaw(to: string, rtcp: boolean, data: Buffer): Promise<void> {
    const s = rtcp ? this.rtcp : this.rtp;
    return new Promise((resolve, reject) => {
      s.send(data, rtcp ? RELAY_PORT + 1 : RELAY_PORT, to, (err) => (err ? reject(err) : resolve()));
    });
  }

  async close(): Promise<void> {
    await Promise.all([this.rtp, this.rtcp].map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
