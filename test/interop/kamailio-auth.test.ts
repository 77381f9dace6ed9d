/**
 * The documented alternative to digest at the reflectors: the SHIPPED
 * deploy/kamailio/kamailio.cfg started with `-A WITH_AUTH` challenges with 407
 * against a static db_text `subscriber` table, and the reflector behind it
 * runs SIP_AUTH off. Kamailio on 127.0.50.2, one reflector on 127.0.50.21.
 */
import { expect } from 'chai';
import * as sdpTransform from 'sdp-transform';
import { clientSdp, MediaEndpoint } from '../../tools/lib/media.js';
import { SipUdpClient } from '../../tools/lib/sip-client.js';
import { baseConfig, startReflector, type ReflectorProcess } from '../helpers/reflector-process.js';
import { waitUntil } from '../helpers/wait.js';
import { startKamailio, stopAllKamailio } from './kamailio.js';

const KAM = '127.0.50.2';
const REFL = '127.0.50.21';

interface Call { sip: SipUdpClient; media: MediaEndpoint; status: number; statuses: readonly number[]; address?: string }

async function call(local: string, session: string, user: string, password: string): Promise<Call> {
  const media = new MediaEndpoint({ localAddress: local, remoteAddress: KAM, remoteRtpPort: 0, toneHz: 1000, cname: user });
  const rtpPort = await media.bind();
  const sip = new SipUdpClient({ localAddress: local, server: KAM, serverPort: 5060, user, password, algorithms: ['MD5'] });
  await sip.bind();
  const res = await sip.invite(session, clientSdp(local, rtpPort, media.ssrc, user));
  let address: string | undefined;
  if (res.status === 200 && res.answerSdp !== undefined) {
    const sdp = sdpTransform.parse(res.answerSdp);
    const audio = sdp.media.find((m) => m.type === 'audio');
    address = audio?.connection?.ip ?? sdp.connection?.ip;
    if (address !== undefined && audio !== undefined) { media.setRemote(address, audio.port); media.start(); }
  }
  return { sip, media, status: res.status, statuses: res.statuses, ...(address !== undefined ? { address } : {}) };
}

describe('interop: digest at Kamailio (shipped kamailio.cfg with -A WITH_AUTH)', function () {
  this.timeout(40_000);
  let refl: ReflectorProcess | null = null;
  const calls: Call[] = [];

  afterEach(async function () {
    for (const c of calls.splice(0)) { c.sip.close(); await c.media.close(); }
    if (this.currentTest?.state === 'failed') process.stderr.write(`--- reflector:\n${refl?.output().slice(-4000) ?? ''}\n`);
    await stopAllKamailio();
    await refl?.stop();
    refl = null;
  });

  it('challenges with 407 against its user table, forwards only authenticated calls, and the reflector (SIP_AUTH off) takes them', async () => {
    refl = await startReflector({ config: baseConfig(REFL) });
    const kam = await startKamailio({
      listenIp: KAM, reflectors: [`sip:${REFL}:5060`],
      defines: ['WITH_AUTH', 'AUTH_REALM="conference.example"'],
      dbText: {
        subscriber: 'username(str) password(str)\nalice:alice-pw\nbob:bob-pw\n',
        version: 'table_name(str) table_version(int)\nsubscriber:7\n',
      },
    });
    expect(kam.output()).to.not.match(/ERROR: auth_db/);
    const wrong = await call('127.0.50.31', 'board', 'alice', 'not-the-password');
    calls.push(wrong);
    expect(wrong.statuses, 'a wrong password is challenged again, never forwarded').to.deep.equal([407, 407, 407]);
    const a = await call('127.0.50.32', 'board', 'alice', 'alice-pw');
    const b = await call('127.0.50.33', 'board', 'bob', 'bob-pw');
    calls.push(a, b);
    expect(a.statuses).to.deep.equal([407, 200]);
    expect(b.statuses).to.deep.equal([407, 200]);
    expect([a.address, b.address]).to.deep.equal([REFL, REFL]);
    await waitUntil(() => (a.media.received.get(b.media.ssrc)?.packets ?? 0) > 20 && (b.media.received.get(a.media.ssrc)?.packets ?? 0) > 20, 5000, 'a and b to hear each other');
    expect(refl.logs.filter((l) => l.event === 'participant_joined').length, 'only the two authenticated calls reached the reflector').to.equal(2);
    expect(await a.sip.bye()).to.equal(200);
    expect(await b.sip.bye()).to.equal(200);
    await waitUntil(() => refl?.logs.filter((l) => l.event === 'participant_left' && l.reason === 'bye').length === 2, 3000, 'both BYEs to reach the reflector');
  });
});
