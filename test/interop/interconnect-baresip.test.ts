/**
 * Real clients across a firewall pair (issue 4): two reflector processes, R2
 * (internal) on 127.0.8.32 and R1 (external) on 127.0.8.31, with
 * REFLECTOR_INTERCONNECTION lines naming each other. A baresip phone on R2 plays
 * a 1 kHz tone; a baresip phone on R1 records; the tone is in the recording.
 * Fails (does not skip) when baresip or sox is missing.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baseConfig, startReflector, type ReflectorProcess } from '../helpers/reflector-process.js';
import { waitUntil } from '../helpers/wait.js';
import { baresipAvailable, fileSize, startBaresip, stopAllBaresip } from './baresip.js';
import { wavHasTone } from './tone.js';

const R1 = '127.0.8.31';
const R2 = '127.0.8.32';

function sox(args: string[]): void {
  const r = spawnSync('sox', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sox ${args.join(' ')} failed: ${r.error?.message ?? ''} ${r.stderr}`);
}

describe('interop: baresip phones on both reflectors of a firewall pair', function () {
  this.timeout(90_000);
  const procs: ReflectorProcess[] = [];
  let dir = '';

  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'pair-tone-')); });

  afterEach(async function () {
    await stopAllBaresip();
    const failed = this.currentTest?.state === 'failed';
    for (const p of procs.splice(0)) {
      if (failed) process.stderr.write(`--- ${p.configFile}:\n${p.output().slice(-5000)}\n`);
      await p.stop();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('a tone played on R2 is heard by a phone on R1', async () => {
    expect(baresipAvailable(), 'baresip is required (Debian package baresip-core)').to.equal(true);
    const tone = join(dir, 'tone.wav');
    const silence = join(dir, 'silence.wav');
    sox(['-n', '-r', '8000', '-c', '1', '-b', '16', tone, 'synth', '30', 'sine', '1000']);
    sox(['-n', '-r', '8000', '-c', '1', '-b', '16', silence, 'trim', '0', '30']);

    const secret = 'pair-secret-for-the-test';
    const r1 = await startReflector({
      config: baseConfig(R1, `REFLECTOR_INTERCONNECTION ${R2} 5564 ${secret}\n`).replace('STATUS_LISTEN off', `STATUS_LISTEN ${R1}:8080`),
    });
    procs.push(r1);
    const r2 = await startReflector({ config: baseConfig(R2, `REFLECTOR_INTERCONNECTION ${R1} 5564 ${secret}\n`) });
    procs.push(r2);
    await r2.waitForLog((l) => l.event === 'peer_up', 15_000);

    const inside = startBaresip({ sipPort: 46060, rtpPorts: [46110, 46119], sourceWav: tone, dial: `sip:weekly@${R2}`, user: 'inside', password: 'unused', domain: R2 });
    const outside = startBaresip({ sipPort: 46070, rtpPorts: [46120, 46129], sourceWav: silence, dial: `sip:weekly@${R1}`, user: 'outside', password: 'unused', domain: R1 });
    await Promise.all([inside, outside].map((p) => p.waitFor('Call established', 15_000)));
    // Relay starts once both sides have participants: each reflector learns the other's COUNT > 0.
    await r1.waitForLog((l) => l.event === 'peer_session_count' && l.session === 'weekly' && l.count === 1, 10_000);
    await r2.waitForLog((l) => l.event === 'peer_session_count' && l.session === 'weekly' && l.count === 1, 10_000);
    await waitUntil(() => fileSize(outside.decodedWav()) > 44 + 4 * 16000, 20_000, "the R1 phone's recording to reach 4 s");
    await Promise.all([inside.stop(), outside.stop()]);

    const wav = outside.decodedWav();
    expect(wav, outside.output()).to.not.equal(undefined);
    const heard = wavHasTone(wav ?? '', 1000);
    expect(heard.present, `R1 phone: ${JSON.stringify(heard.report)}\n${outside.output().slice(-2000)}`).to.equal(true);
    // And it crossed as relay datagrams from R2: R1's status API counts them.
    const peers = (await (await fetch(`http://${R1}:8080/api/peers`)).json()) as { key: string; up: boolean; relayPacketsIn: number }[];
    const fromR2 = peers.find((p) => p.key === `${R2}:5564`);
    expect(fromR2?.up).to.equal(true);
    expect(fromR2?.relayPacketsIn ?? 0, 'relay datagrams from R2').to.be.greaterThan(100);
  });
});
