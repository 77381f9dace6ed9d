/**
 * The audio mixer's entry point (SPEC §13): the factory main.ts calls, and the
 * names other parts use. The mixer itself is AudioMixer in audio-mixer.ts.
 */
import { AudioMixer, type Mixer, type MixerDeps } from './audio-mixer.js';

export { MixerIgnore, type Mixer, type MixerDeps } from './audio-mixer.js';
export { benchMixer, type MixerBenchOptions, type MixerBenchResult } from './bench.js';
export { mixerCodecNames } from './codecs.js';

export function createMixer(deps: MixerDeps): Mixer {
  return new AudioMixer(deps);
}
