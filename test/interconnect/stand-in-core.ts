/**
 * A STAND-IN for the reflector core, used until the interconnect tests are
 * wired to the real core (src/reflector): it implements only the surface the
 * interconnect uses (events, participantIds, sessionNames, setRelayPort,
 * injectRelayed) with the core's contract — local participants' datagrams go
 * to RelayPort.forward(); relayed ones are recorded as "delivered to local
 * participants" (the interconnect relays them on itself, never through the core).
 * The interconnects under test talk to each other over real UDP sockets.
 */
import type {
  CoreEvents,
  Medium,
  ParticipantSnapshot,
  ReflectorCore,
  RelayPort,
} from '../../src/reflector/api.js';
import { TypedEmitter } from '../../src/runtime/typed-emitter.js';

export interface Delivered {
  readonly session: string;
  readonly medium: Medium;
  readonly rtcp: boolean;
  readonly packet: Buffer;
}

export class StandInCore implements ReflectorCore {
  readonly events = new TypedEmitter<CoreEvents>();
  readonly delivered: Delivered[] = [];
  relayPort: RelayPort | null = null;
  readonly #sessions = new Map<string, Set<string>>();
  #nextId = 1;

  /** A local participant joins `session`. */
  addParticipant(session: string): string {
    const id = `p${this.#nextId++}`;
    let members = this.#sessions.get(session);
    if (members === undefined) {
      members = new Set();
      this.#sessions.set(session, members);
      this.events.emit('session-created', session);
    }
    members.add(id);
    const snap: ParticipantSnapshot = {
      id, session, mode: 'reflect', joinedAt: Date.now(), lastActivityAt: Date.now(), streams: [],
    };
    this.events.emit('participant-joined', snap);
    return id;
  }

  removeParticipant(session: string, id: string): void {
    const members = this.#sessions.get(session);
    if (members === undefined || !members.delete(id)) return;
    this.events.emit('participant-removed', id, session, 'bye');
    if (members.size === 0) {
      this.#sessions.delete(session);
      this.events.emit('session-empty', session);
    }
  }

  /** A local participant's RTP/RTCP datagram: the core hands it to the relay port. */
  sendFromParticipant(session: string, medium: Medium, rtcp: boolean, packet: Buffer): void {
    this.relayPort?.forward(session, medium, rtcp, packet);
  }

  // ── ReflectorCore surface used by the interconnect ──

  injectRelayed(session: string, medium: Medium, rtcp: boolean, packet: Buffer): void {
    // A copy: the real core forwards and forgets; tests inspect later.
    this.delivered.push({ session, medium, rtcp, packet: Buffer.from(packet) });
  }

  setRelayPort(port: RelayPort | null): void {
    this.relayPort = port;
  }

  sessionNames(): readonly string[] {
    return [...this.#sessions.keys()];
  }

  participantIds(session: string): readonly string[] {
    return [...(this.#sessions.get(session) ?? [])];
  }

  // ── Not used by the interconnect ──

  sessionCodecs(): never { throw new Error('stand-in core: sessionCodecs not implemented'); }
  checkAdmission(): never { throw new Error('stand-in core: checkAdmission not implemented'); }
  join(): never { throw new Error('stand-in core: join not implemented'); }
  update(): never { throw new Error('stand-in core: update not implemented'); }
  confirmAddress(): never { throw new Error('stand-in core: confirmAddress not implemented'); }
  leave(): never { throw new Error('stand-in core: leave not implemented'); }
  has(): boolean { return false; }
  participantCodecs(): undefined { return undefined; }
  sendTo(): boolean { return false; }
  setRflxHandler(): void {}
  setMixerPort(): void {}
  snapshot(): never { throw new Error('stand-in core: snapshot not implemented'); }
  drops(): Readonly<Record<string, number>> { return {}; }
}
