/**
 * Two real baresip phones join one session of a real reflector process (MD5
 * digest); one plays a 1 kHz tone made with sox, the other's recording
 * contains 1 kHz; a third phone in another session hears none of it; the tone
 * detector fails on silence and on the wrong frequency.
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

const IP = '127.0.2.40';

function sox(args: string[]): void {
  const r = spawnSync('sox', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sox ${args.join(' ')} failed: ${r.error?.message ?? ''} ${r.stderr}`);
}

describe('interop: baresip phones through the reflector', function () {
  this.timeout(60_000);
  let refl: ReflectorProcess | null = null;
  let dir = '';

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tone-'));
  });

  afterEach(async () => {
    await stopAllBaresip();
    await refl?.stop();
    refl = null;
    rmSync(dir, { recursive: true, force: true });
  });

  it('baresip and sox are installed (the interop test fails without them)', () => {
    expect(baresipAvailable(), 'baresip not on PATH: apt-get install baresip-core').to.equal(true);
    expect(spawnSync('sh', ['-c', 'command -v sox']).status, 'sox not on PATH').to.equal(0);
  });

  it('a 1 kHz tone from one phone is heard by the other phone of the session and not by a phone in another session', async () => {
    const tone = join(dir, 'tone.wav');
    const silence = join(dir, 'silence.wav');
    const tone500 = join(dir, 'tone500.wav');
    sox(['-n', '-r', '8000', '-c', '1', '-b', '16', tone, 'synth', '30', 'sine', '1000']);
    sox(['-n', '-r', '8000', '-c', '1', '-b', '16', silence, 'trim', '0', '30']);
    sox(['-n', '-r', '8000', '-c', '1', '-b', '16', tone500, 'synth', '3', 'sine', '500']);
    // The detector itself: tone found in the tone, not in silence, not at another frequency.
    expect(wavHasTone(tone, 1000).present).to.equal(true);
    expect(wavHasTone(silence, 1000).present).to.equal(false);
    expect(wavHasTone(tone500, 1000).present).to.equal(false);

    refl = await startReflector({ config: baseConfig(IP, 'SIP_AUTH on\nSIP_USER alice alice-secret\nSIP_USER bob bob-secret\nSIP_USER carol carol-secret') });
    const common = { domain: IP };
    const a = startBaresip({ ...common, sipPort: 45060, rtpPorts: [45110, 45119], sourceWav: tone, dial: `sip:room%20one@${IP}`, user: 'alice', password: 'alice-secret' });
    const b = startBaresip({ ...common, sipPort: 45070, rtpPorts: [45120, 45129], sourceWav: silence, dial: `sip:room%20one@${IP}`, user: 'bob', password: 'bob-secret' });
    const c = startBaresip({ ...common, sipPort: 45080, rtpPorts: [45130, 45139], sourceWav: silence, dial: `sip:room%20two@${IP}`, user: 'carol', password: 'carol-secret' });
    await Promise.all([a, b, c].map((p) => p.waitFor('Call established', 15_000)));
    // Wait until B has recorded at least 3 s of audio (8 kHz, 16 bit).
    await waitUntil(() => fileSize(b.decodedWav()) > 44 + 3 * 16000, 15_000, "bob's recording to reach 3 s");
    await Promise.all([a.stop(), b.stop(), c.stop()]);

    const bWav = b.decodedWav();
    expect(bWav, b.output()).to.not.equal(undefined);
    const heard = wavHasTone(bWav ?? '', 1000);
    expect(heard.present, `bob: ${JSON.stringify(heard.report)}\n${b.output().slice(-2000)}`).to.equal(true);
    expect(wavHasTone(bWav ?? '', 500).present, 'bob hears 1 kHz, not 500 Hz').to.equal(false);
    // Carol (other session) received either nothing at all or audio without the tone.
    const cWav = c.decodedWav();
    const carol = cWav !== undefined && fileSize(cWav) > 44 ? wavHasTone(cWav, 1000, 0.3) : undefined;
    expect(carol?.present ?? false, `carol heard the other session: ${JSON.stringify(carol?.report)}`).to.equal(false);
    await refl.waitForLog((r) => r.event === 'participant_left' && r.reason === 'bye', 5000);
  });
});
