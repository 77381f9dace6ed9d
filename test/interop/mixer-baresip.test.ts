/**
 * SPEC §13 with real phones: baresip cannot render several SSRCs on one audio
 * stream, so a conference of three baresip phones needs `;mode=mix`. A plays
 * 440 Hz, B 1000 Hz, C is silent and records: C hears both tones, A hears
 * 1000 Hz and not its own 440 Hz, B the reverse. A PCMA-only phone and a
 * G722-only phone (no common codec) hear each other through the mixer.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWavS16Mono } from '../../tools/lib/media.js';
import { baseConfig, startReflector, type ReflectorProcess } from '../helpers/reflector-process.js';
import { waitUntil } from '../helpers/wait.js';
import { baresipAvailable, startBaresip, stopAllBaresip, type Baresip } from './baresip.js';
import { analyseTone } from './tone.js';

const IP = '127.0.6.40';

function sox(args: string[]): void {
  const r = spawnSync('sox', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sox ${args.join(' ')} failed: ${r.error?.message ?? ''} ${r.stderr}`);
}

/**
 * Seconds (in 100 ms blocks, not necessarily consecutive: a loaded test machine
 * may stall a phone's sender) during which `freqHz` carries ≥ minShare of the energy.
 */
function toneSeconds(phone: Baresip, freqHz: number, minShare: number): number {
  const wav = phone.decodedWav();
  if (wav === undefined) return 0;
  const w = readWavS16Mono(wav);
  return analyseTone(w.samples, w.rateHz, freqHz, minShare).toneBlocks / 10;
}

describe('interop: baresip phones in mix mode (mixer)', function () {
  this.timeout(90_000);
  let refl: ReflectorProcess | null = null;
  let dir = '';

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mixtone-'));
  });

  afterEach(async () => {
    await stopAllBaresip();
    await refl?.stop();
    refl = null;
    rmSync(dir, { recursive: true, force: true });
  });

  it('baresip (with g722) and sox are installed (the interop test fails without them)', () => {
    expect(baresipAvailable(), 'baresip with g722.so: apt-get install baresip-core').to.equal(true);
    expect(spawnSync('sh', ['-c', 'command -v sox']).status, 'sox not on PATH').to.equal(0);
  });

  it('three mixed phones: the listener hears both tones, each talker only the other one', async () => {
    const t440 = join(dir, 't440.wav');
    const t1000 = join(dir, 't1000.wav');
    const silence = join(dir, 'silence.wav');
    sox(['-n', '-r', '8000', '-c', '1', '-b', '16', t440, 'synth', '60', 'sine', '440', 'vol', '0.4']);
    sox(['-n', '-r', '8000', '-c', '1', '-b', '16', t1000, 'synth', '60', 'sine', '1000', 'vol', '0.4']);
    sox(['-n', '-r', '8000', '-c', '1', '-b', '16', silence, 'trim', '0', '60']);

    refl = await startReflector({ config: baseConfig(IP) });
    const dial = `sip:trio@${IP};mode=mix`;
    const common = { domain: IP, dial, codecs: ['PCMU/8000'] };
    const a = startBaresip({ ...common, user: 'a', sipPort: 47361, rtpPorts: [47410, 47419], sourceWav: t440 });
    const b = startBaresip({ ...common, user: 'b', sipPort: 47371, rtpPorts: [47420, 47429], sourceWav: t1000 });
    const c = startBaresip({ ...common, user: 'c', sipPort: 47381, rtpPorts: [47430, 47439], sourceWav: silence });
    await Promise.all([a, b, c].map((p) => p.waitFor('Call established', 15_000)));
    // Recordings of at least 6 s (8 kHz, 16 bit) for everyone.
    await waitUntil(() => [a, b, c].every((p) => p.recordedBytes() > 44 + 6 * 16000), 20_000, 'recordings of 6 s');
    await Promise.all([a, b, c].map((p) => p.stop()));

    const report = (p: Baresip): string => `${p.output().slice(-1500)}\n${refl?.output().slice(-3000) ?? ''}`;
    // Two tones of equal level share the energy: each carries ~50 %.
    expect(toneSeconds(c, 440, 0.3), `C hears 440 Hz\n${report(c)}`).to.be.at.least(3);
    expect(toneSeconds(c, 1000, 0.3), `C hears 1000 Hz\n${report(c)}`).to.be.at.least(3);
    expect(toneSeconds(a, 1000, 0.6), `A hears 1000 Hz\n${report(a)}`).to.be.at.least(3);
    expect(toneSeconds(a, 440, 0.1), 'A does not hear itself').to.equal(0);
    expect(toneSeconds(b, 440, 0.6), `B hears 440 Hz\n${report(b)}`).to.be.at.least(3);
    expect(toneSeconds(b, 1000, 0.1), 'B does not hear itself').to.equal(0);
  });

  it('a PCMA-only phone and a G722-only phone hear each other', async () => {
    const t440 = join(dir, 't440-8k.wav');
    const t1000 = join(dir, 't1000-16k.wav');
    sox(['-n', '-r', '8000', '-c', '1', '-b', '16', t440, 'synth', '60', 'sine', '440', 'vol', '0.4']);
    sox(['-n', '-r', '16000', '-c', '1', '-b', '16', t1000, 'synth', '60', 'sine', '1000', 'vol', '0.4']);

    refl = await startReflector({ config: baseConfig(IP) });
    const dial = `sip:pair@${IP};mode=mix`;
    const p = startBaresip({ domain: IP, dial, user: 'p', codecs: ['PCMA/8000'], sipPort: 47461, rtpPorts: [47510, 47519], sourceWav: t440 });
    const g = startBaresip({ domain: IP, dial, user: 'g', codecs: ['G722/16000'], sipPort: 47471, rtpPorts: [47520, 47529], sourceWav: t1000 });
    await Promise.all([p, g].map((x) => x.waitFor('Call established', 15_000)));
    await waitUntil(() => p.recordedBytes() > 44 + 4 * 16000 && g.recordedBytes() > 44 + 4 * 32000, 20_000, 'recordings of 4 s');
    await Promise.all([p, g].map((x) => x.stop()));

    const report = (x: Baresip): string => `${x.output().slice(-1500)}\n${refl?.output().slice(-3000) ?? ''}`;
    expect(toneSeconds(p, 1000, 0.6), `PCMA phone hears the G722 phone\n${report(p)}`).to.be.at.least(2);
    expect(toneSeconds(g, 440, 0.6), `G722 phone hears the PCMA phone\n${report(g)}`).to.be.at.least(2);
    expect(toneSeconds(p, 440, 0.1), 'the PCMA phone does not hear itself').to.equal(0);
    expect(toneSeconds(g, 1000, 0.1), 'the G722 phone does not hear itself').to.equal(0);
  });
});
