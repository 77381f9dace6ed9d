/**
 * SPEC §13 with a real opus phone: a baresip phone that offers only
 * opus/48000/2 (RFC 7587) and a PCMU-only baresip phone, both `;mode=mix`,
 * hear each other through the mixer (opus decoded by opusscript).
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWavS16Mono } from '../../tools/lib/media.js';
import { baseConfig, startReflector, type ReflectorProcess } from '../helpers/reflector-process.js';
import { waitUntil } from '../helpers/wait.js';
import { analyseTone } from '../interop/tone.js';
import { startBaresip, stopAllBaresip, type Baresip } from '../interop/baresip.js';

const IP = '127.0.6.100';

function sox(args: string[]): void {
  const r = spawnSync('sox', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sox ${args.join(' ')} failed: ${r.error?.message ?? ''} ${r.stderr}`);
}

/** Seconds (100 ms blocks) in which `freqHz` carries ≥ minShare of the energy of what the phone decoded (downmixed to mono). */
function toneSeconds(phone: Baresip, dir: string, freqHz: number, minShare: number): number {
  const wav = phone.decodedWav();
  if (wav === undefined) return 0;
  const mono = join(dir, `mono-${phone.proc.pid ?? 0}-${freqHz}.wav`);
  sox([wav, '-c', '1', '-b', '16', mono]);
  const w = readWavS16Mono(mono);
  return analyseTone(w.samples, w.rateHz, freqHz, minShare).toneBlocks / 10;
}

describe('mixer: a baresip opus phone and a PCMU phone in mix mode', function () {
  this.timeout(90_000);
  let refl: ReflectorProcess | null = null;
  let dir = '';

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mixopus-'));
  });

  afterEach(async () => {
    await stopAllBaresip();
    await refl?.stop();
    refl = null;
    rmSync(dir, { recursive: true, force: true });
  });

  it('each hears the other, neither hears itself', async () => {
    expect(existsSync('/usr/lib/baresip/modules/opus.so'), 'baresip opus module').to.equal(true);
    const t440 = join(dir, 't440-48k-stereo.wav'); // baresip's aufile needs the codec's 48 kHz, 2 channels
    const t1000 = join(dir, 't1000-8k.wav');
    sox(['-n', '-r', '48000', '-c', '2', '-b', '16', t440, 'synth', '60', 'sine', '440', 'vol', '0.4']);
    sox(['-n', '-r', '8000', '-c', '1', '-b', '16', t1000, 'synth', '60', 'sine', '1000', 'vol', '0.4']);

    refl = await startReflector({ config: baseConfig(IP) });
    const dial = `sip:opusmix@${IP};mode=mix`;
    const o = startBaresip({ domain: IP, dial, user: 'o', codecs: ['opus/48000/2'], sipPort: 47661, rtpPorts: [47710, 47719], sourceWav: t440 });
    const u = startBaresip({ domain: IP, dial, user: 'u', codecs: ['PCMU/8000'], sipPort: 47671, rtpPorts: [47720, 47729], sourceWav: t1000 });
    await Promise.all([o, u].map((x) => x.waitFor('Call established', 15_000)));
    await waitUntil(() => o.recordedBytes() > 44 + 4 * 192000 && u.recordedBytes() > 44 + 4 * 16000, 25_000, 'recordings of 4 s');
    await Promise.all([o, u].map((x) => x.stop()));

    const report = (x: Baresip): string => `${x.output().slice(-1500)}\n${refl?.output().slice(-3000) ?? ''}`;
    expect(toneSeconds(o, dir, 1000, 0.6), `opus phone hears the PCMU phone\n${report(o)}`).to.be.at.least(2);
    expect(toneSeconds(u, dir, 440, 0.6), `PCMU phone hears the opus phone\n${report(u)}`).to.be.at.least(2);
    expect(toneSeconds(o, dir, 440, 0.1), 'the opus phone does not hear itself').to.equal(0);
    expect(toneSeconds(u, dir, 1000, 0.1), 'the PCMU phone does not hear itself').to.equal(0);
  });
});
