/**
 * SPEC §14, issue 10: the seed scenario across REAL packet filters and NAT, in network namespaces the test
 * builds (test/helpers/firewall-pair-netns.ts) with the rules exactly as `reflector firewall-rules`
 * prints them: u1, u2 inside (masqueraded by fw2) on R2; u3, u4 on the Internet on R1 with digest auth.
 * Everyone hears the three others and gets their video streams (tools/client --video); u1 shares an application that the three others view byte for byte;
 * a file sent by u3 is fetched verified by u1 (R2's file relay through fw1); the relay stops when one
 * side empties; a direct connection from the Internet to R2 fails. Once with fw1 routing (nft rules)
 * and once with fw1 translating R2 1:1 (iptables rules).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { deterministicBytes, sha256, type ClientProcess } from '../helpers/client-cli.js';
import { ADDR, requireTopologies, startFirewallPair, tcpProbe, type FirewallPair } from '../helpers/firewall-pair-netns.js';
import { waitUntil } from '../helpers/wait.js';

interface Received { ssrc: number; packets: number; rtcpPackets: number }
interface PeerJson { key: string; up: boolean; relayPacketsOut: number; relayPacketsIn: number }

const variants = [
  { name: 'fw1 routes (nft rules)', nat: false, format: 'nft' as const },
  { name: 'fw1 NATs R2 1:1 (iptables rules)', nat: true, format: 'iptables' as const },
];

for (const v of variants) {
  describe(`firewall pair in namespaces, ${v.name} (SPEC §14)`, function () {
    this.timeout(150_000);
    let pair: FirewallPair | undefined;

    before(async function () {
      requireTopologies(this);
      pair = await startFirewallPair({ nat: v.nat, format: v.format });
    });

    after(async function () {
      if (this.currentTest?.state === 'failed' && pair !== undefined) process.stderr.write(pair.output());
      await pair?.destroy();
      pair = undefined;
    });

    afterEach(function () {
      if (this.currentTest?.state === 'failed' && pair !== undefined) process.stderr.write(pair.output());
    });

    it('the filters are real: the Internet reaches R1 but not R2, the pair comes up through fw1; check-ip and STUN show the NAT', async () => {
      const p = pair!;
      expect(p.rules.fw1).to.match(/firewall 1/);
      expect(p.rules.fw2).to.match(/firewall 2/);
      await p.r2.waitForLog((l) => l.event === 'peer_up', 20_000);
      await p.r1.waitForLog((l) => l.event === 'peer_up', 20_000);
      // Positive control: the probe does connect where nothing filters.
      expect(await tcpProbe(p.topo, 'u3', ADDR.r1, 5060)).to.equal('connected');
      for (const port of [5060, 5565, 6000, 12340]) {
        expect(await tcpProbe(p.topo, 'u3', p.r2Outside, port), `u3 → R2 TCP ${port}`).to.not.equal('connected');
      }
      // R1 itself reaches R2's file port (allowed), but not its SIP port.
      expect(await tcpProbe(p.topo, 'r1', p.r2Outside, 5565)).to.equal('connected');
      expect(await tcpProbe(p.topo, 'r1', p.r2Outside, 5060)).to.not.equal('connected');
      // Inside clients reach R2's client ports, and not R1 (fw2 passes only flows to R2).
      expect(await tcpProbe(p.topo, 'u1', ADDR.r2, 12340)).to.equal('connected');
      expect(await tcpProbe(p.topo, 'u1', ADDR.r1, 5060)).to.not.equal('connected');
      // check-ip from behind NAT tells the inside client its translated address.
      const seen = await p.topo.sh('u1', process.execPath, ['-e',
        `const s = require('net').connect({ host: '${ADDR.r2}', port: 12340 }); let t = ''; s.setEncoding('utf8');`
        + ' s.on(\'data\', (c) => { t += c; }); s.on(\'end\', () => process.stdout.write(t));'
        + ' setTimeout(() => process.exit(1), 5000).unref();']);
      expect(seen).to.equal(`${ADDR.fw2Dmz}\n`);
      // A STUN Binding Request to the first keep-alive port from behind the NAT: the answer's
      // XOR-MAPPED-ADDRESS is the translated address (RFC 5389 §15.2).
      const stun = await p.topo.sh('u1', process.execPath, ['-e', `
        const s = require('dgram').createSocket('udp4');
        const req = Buffer.alloc(20); req.writeUInt16BE(1, 0); req.writeUInt32BE(0x2112a442, 4); require('crypto').randomFillSync(req, 8, 12);
        s.on('message', (m) => {
          for (let o = 20; o + 4 <= m.length;) {
            const t = m.readUInt16BE(o), l = m.readUInt16BE(o + 2);
            if (t === 0x20) {
              const port = m.readUInt16BE(o + 6) ^ 0x2112, a = (m.readUInt32BE(o + 8) ^ 0x2112a442) >>> 0;
              process.stdout.write([a >>> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255].join('.') + ' ' + port + ' ' + s.address().port);
              process.exit(0);
            }
            o += 4 + Math.ceil(l / 4) * 4;
          }
        });
        s.bind(0, '${ADDR.u1}', () => s.send(req, 5570, '${ADDR.r2}'));
        setTimeout(() => process.exit(1), 5000).unref();`]);
      const [mappedIp, mappedPort] = stun.split(' ');
      expect(mappedIp, 'STUN mapped address behind fw2').to.equal(ADDR.fw2Dmz);
      expect(Number(mappedPort)).to.be.within(1, 65535);
    });

    it('everyone hears the three others; u1 shares, u2, u3, u4 view byte for byte', async () => {
      const p = pair!;
      const data = deterministicBytes(2 * 1024 * 1024, v.nat ? 0x7a7 : 0x5eed);
      const viewers: { name: 'u2' | 'u3' | 'u4'; c: ClientProcess; out: string }[] = (['u2', 'u3', 'u4'] as const).map((name) => {
        const out = join(p.dir, `${name}-view-${String(v.nat)}.bin`);
        return { name, out, c: p.client(name, 'weekly', ['--video', '--view', '--out', out]) };
      });
      for (const x of viewers) await x.c.event((e) => e.event === 'joined');
      const sharer = p.client('u1', 'weekly', ['--video', '--share', '-', '--title', 'slides']);
      const sharing = await sharer.event((e) => e.event === 'sharing');
      for (const x of viewers) expect((await x.c.event((e) => e.event === 'viewing')).shareId).to.equal(sharing.shareId);
      // Let audio run both ways for a while before the share ends the calls.
      const relayIn = async (): Promise<number> => ((await p.status('r2', '/api/peers')) as PeerJson[]).reduce((n, x) => n + x.relayPacketsIn, 0);
      await waitUntil(async () => (await relayIn()) > 300, 20_000, 'relayed media at R2 from R1');
      const stdin = sharer.proc.stdin!;
      stdin.end(data);
      const s = await sharer.done();
      expect(s.code, sharer.output()).to.equal(0);
      expect(s.summary.share).to.include({ bytes: data.length, sha256: sha256(data) });
      const summaries = new Map<string, Record<string, unknown>>([['u1', s.summary]]);
      for (const x of viewers) {
        const r = await x.c.done();
        expect(r.code, x.c.output()).to.equal(0);
        expect(r.summary.view, x.name).to.include({ shareId: sharing.shareId, bytes: data.length, sha256: sha256(data), ended: true });
        expect(sha256(readFileSync(x.out)), `${x.name} file`).to.equal(sha256(data));
        summaries.set(x.name, r.summary);
      }
      // Audio: each heard each of the three others (RTP and RTCP), never itself, never more than was sent.
      for (const [name, sum] of summaries) {
        const received = sum.received as Received[];
        const own = sum.ssrc as number;
        expect(received.find((r) => r.ssrc === own), `${name} hears itself`).to.equal(undefined);
        for (const [other, os] of summaries) {
          if (other === name) continue;
          const got = received.find((r) => r.ssrc === os.ssrc);
          expect(got?.packets ?? 0, `${name} hears ${other}`).to.be.at.least(50);
          expect(got?.rtcpPackets ?? 0, `${name} gets RTCP of ${other}`).to.be.at.least(1);
          expect(got?.packets ?? 0, `${name} gets no duplicates of ${other}`).to.be.at.most(os.sentPackets as number);
        }
      }
      // Video: each got the three others' video streams (their own SSRCs), never its own.
      for (const [name, sum] of summaries) {
        const video = sum.video as { ssrc: number; sentPackets: number; received: Received[] };
        expect(video.received.find((r) => r.ssrc === video.ssrc), `${name} sees its own video`).to.equal(undefined);
        for (const [other, os] of summaries) {
          if (other === name) continue;
          const ov = os.video as { ssrc: number; sentPackets: number };
          const got = video.received.find((r) => r.ssrc === ov.ssrc);
          expect(got?.packets ?? 0, `${name} sees ${other}'s video`).to.be.at.least(25);
          expect(got?.packets ?? 0, `${name} gets no duplicate video of ${other}`).to.be.at.most(ov.sentPackets);
        }
      }
      // u3, u4 authenticated with digest.
      expect(summaries.get('u3')!.statuses).to.deep.equal([401, 200]);
    });

    it('a file sent by u3 on R1 is fetched verified by u1 on R2; relay stops when one side empties', async () => {
      const p = pair!;
      const data = deterministicBytes(3 * 1024 * 1024, 0xf11e);
      const src = join(p.dir, `minutes-${String(v.nat)}.bin`);
      writeFileSync(src, data);
      const keepOut = p.client('u4', 'files', ['--duration', '60']);
      const keepIn = p.client('u2', 'files', ['--duration', '60']);
      await keepOut.event((e) => e.event === 'joined');
      await keepIn.event((e) => e.event === 'joined');
      const getter = p.client('u1', 'files', ['--get-file', '--out', join(p.dir, `u1-${String(v.nat)}.bin`)]);
      await getter.event((e) => e.event === 'joined');
      const sender = p.client('u3', 'files', ['--send-file', src]);
      const s = await sender.done();
      expect(s.code, sender.output()).to.equal(0);
      const sent = s.summary.sendFile as Record<string, unknown>;
      expect(sent.verified).to.equal(true);
      const g = await getter.done();
      expect(g.code, getter.output()).to.equal(0);
      expect(g.summary.getFile).to.include({ fileId: sent.fileId, bytes: data.length, sha256: sha256(data), verified: true });
      // R2 fetched from R1's configured address (with NAT too) — the relay went through fw1.
      const fetched = p.r2.logs.find((l) => l.event === 'peer_file_announced' && l.fileId === sent.fileId);
      expect(fetched?.origin).to.equal(`${ADDR.r1}:5565`);

      // Only u2 (R2) and u4 (R1) are left: relay both ways. u4 leaves: R2 learns COUNT 0 and stops relaying.
      const relayOut = async (): Promise<number> => ((await p.status('r2', '/api/peers')) as PeerJson[]).reduce((n, x) => n + x.relayPacketsOut, 0);
      const before = await relayOut();
      await waitUntil(async () => (await relayOut()) > before + 20, 10_000, 'R2 relaying u2 to R1');
      keepOut.proc.kill('SIGTERM');
      expect((await keepOut.done()).summary.byeStatus).to.equal(200);
      await p.r2.waitForLog((l) => l.event === 'peer_session_count' && l.session === 'files' && l.count === 0, 10_000);
      // (R2 has only u2 left now.)
      const settled = await relayOut();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await relayOut(), 'no relay after the far side left').to.equal(settled);
      // The reflector hangs up u2 (admin DELETE): its BYE must reach u2 through fw2's NAT, over the flow
      // u2's requests came from (u2's Contact names its private address, unreachable from the DMZ).
      const sessions = (await p.status('r2', '/api/sessions')) as { name: string; participants: { id: string }[] }[];
      const u2 = sessions.find((x) => x.name === 'files')?.participants ?? [];
      expect(u2).to.have.length(1);
      expect(await p.adminDelete('r2', `/api/participants/${encodeURIComponent(u2[0]!.id)}`)).to.be.within(200, 204);
      const k = await keepIn.done(20_000);
      expect(k.summary.endedBy, keepIn.output()).to.equal('reflector');
      expect(k.code).to.equal(0);
    });
  });
}
