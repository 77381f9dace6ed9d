/**
 * A conference participant for integration tests: our SIP UAC (tools/lib) plus
 * a media endpoint that sends a tone and counts what it receives per SSRC.
 */
import { MediaEndpoint, clientSdp } from '../../tools/lib/media.js';
import { SipUdpClient } from '../../tools/lib/sip-client.js';

export interface Member {
  readonly sip: SipUdpClient;
  readonly media: MediaEndpoint;
  /** Final status of the INVITE (200 when joined). */
  readonly status: number;
}

/** Joins `session` on the reflector at `reflector` (SIP 5060, audio 5566) from `local`, and starts sending. */
export async function joinMember(reflector: string, local: string, session: string, user?: string, password?: string): Promise<Member> {
  const media = new MediaEndpoint({ localAddress: local, remoteAddress: reflector, remoteRtpPort: 5566, toneHz: 1000, cname: user ?? local });
  const rtpPort = await media.bind();
  const sip = new SipUdpClient({ localAddress: local, server: reflector, serverPort: 5060,
    ...(user !== undefined ? { user } : {}), ...(password !== undefined ? { password } : {}) });
  await sip.bind();
  const res = await sip.invite(session, clientSdp(local, rtpPort, media.ssrc, user ?? local));
  if (res.status === 200) media.start();
  return { sip, media, status: res.status };
}

/** RTP packets `receiver` got from `sender`'s SSRC. */
export function heardFrom(receiver: Member, sender: Member): number {
  return receiver.media.received.get(sender.media.ssrc)?.packets ?? 0;
}

/** RTCP packets `receiver` got from `sender`'s SSRC. */
export function rtcpFrom(receiver: Member, sender: Member): number {
  return receiver.media.received.get(sender.media.ssrc)?.rtcpPackets ?? 0;
}

export async function closeMembers(members: Member[]): Promise<void> {
  for (const m of members.splice(0)) {
    m.sip.close();
    await m.media.close();
  }
}
