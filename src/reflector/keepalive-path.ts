/**
 * The datagrams of the core that are not media: STUN on a media port (an ICE
 * connectivity check, SPEC §16) and whatever arrives on the keep-alive ports
 * (STUN binding requests and RFC 6263 RTP keep-alives, SPEC §5). Both may latch.
 */
import type { RemoteInfo } from 'node:dgram';
import { rtpSsrc } from '../rtp/packet-class.js';
import type { DropCounter } from '../runtime/drop-counter.js';
import type { Attribution } from './attribution.js';
import type { CoreState } from './core-state.js';
import { ReflectorDrop } from './drop-reasons.js';
import { IceDrop } from './ice-agent.js';
import { formatEndpoint } from './ip-key.js';
import { KeepaliveResponder } from './keepalive.js';
import type { Latching } from './latching.js';
import { flowIsRtcp, flowMedium } from './media-kind.js';

export class KeepalivePath {
  readonly #st: CoreState;
  readonly #latching: Latching;
  readonly #attr: Attribution;
  readonly #codecDrops: DropCounter;
  readonly #keepalive = new KeepaliveResponder();

  constructor(st: CoreState, latching: Latching) {
    this.#st = st;
    this.#latching = latching;
    this.#attr = st.attr;
    this.#codecDrops = st.codecDrops;
  }

  /**
   * A STUN datagram on a media port: an ICE connectivity check (SPEC §16) is answered
   * from the port it came to, to its source only; a nominated one (USE-CANDIDATE)
   * latches the stream's flow to that source. Checks count as activity (consent
   * freshness, RFC 7675), so a participant whose checks and media stop times out like
   * any inactive one. Anything unauthenticated is dropped and counted, never answered.
   */
  onIceCheck(flow: number, buf: Buffer, rinfo: RemoteInfo): void {
    if (!this.#st.config.ice) {
      this.#codecDrops.add(IceDrop.Off);
      return;
    }
    if (!this.#st.hosts.allowed(rinfo.address)) {
      this.#st.drop(ReflectorDrop.HostDenied);
      return;
    }
    const r = this.#st.ice.check(flow, buf, rinfo.address, rinfo.port);
    if (r === null || r.stream === null) {
      this.#codecDrops.add(this.#st.ice.lastDrop);
      return;
    }
    const s = r.stream;
    s.participant.lastActivityAt = Date.now();
    this.#st.senders[flow].send(r.response, rinfo.port, rinfo.address);
    this.#st.iceAnswered++;
    if (!r.nominated) return;
    const rtcp = flowIsRtcp(flow) ? 1 : 0;
    if (s.iceNominated[rtcp] && s.latchedIp[rtcp] === rinfo.address && s.latchedPort[rtcp] === rinfo.port) return;
    s.iceNominated[rtcp] = true;
    this.#latching.latch(s, flow, rinfo.address, rinfo.port);
    this.#st.log.info('ice_nominated', { id: s.participant.id, session: s.participant.session.name, flow, source: formatEndpoint(rinfo.address, rinfo.port) });
  }

  onKeepalive(index: number, buf: Buffer, rinfo: RemoteInfo): void {
    try {
      if (!this.#st.hosts.allowed(rinfo.address)) {
        this.#st.drop(ReflectorDrop.HostDenied);
        return;
      }
      const kind = this.#keepalive.classify(buf);
      if (kind === 'stun') {
        const answer = this.#keepalive.stunAnswer(buf, rinfo.address, rinfo.port);
        if (answer === null) {
          this.#codecDrops.add(this.#keepalive.lastDrop);
          return;
        }
        const latched = this.#attr.sources[index].get(rinfo.address, rinfo.port);
        if (latched !== undefined) latched.participant.lastActivityAt = Date.now();
        this.#st.keepaliveSenders[index].send(answer, rinfo.port, rinfo.address);
        return;
      }
      if (kind !== 'rtp') {
        this.#st.drop(ReflectorDrop.KeepaliveUnknown);
        return;
      }
      // RFC 6263 keep-alive: an RTP packet with an SSRC known for a participant.
      const ssrc = rtpSsrc(buf);
      const medium = flowMedium(index);
      let s = this.#attr.findBySsrc(medium, ssrc, rinfo.address);
      if (s === null) {
        const other = this.#attr.findBySsrc(1 - medium, ssrc, rinfo.address);
        if (other !== null) s = other.participant.streams[medium];
      }
      if (s === null || !s.enabled) {
        this.#st.drop(ReflectorDrop.KeepaliveUnknown);
        return;
      }
      s.participant.lastActivityAt = Date.now();
      const rtcp = flowIsRtcp(index) ? 1 : 0;
      if (s.latchedIp[rtcp] !== rinfo.address || s.latchedPort[rtcp] !== rinfo.port) {
        this.#latching.latch(s, index, rinfo.address, rinfo.port);
      }
      // Echoed byte for byte from the keep-alive port, so the NAT sees two-way traffic.
      this.#st.keepaliveSenders[index].send(buf, rinfo.port, rinfo.address);
    } catch (err) {
      this.#st.internalError(err);
    }
  }

}
