/**
 * The mixer's steady frame clock (SPEC §13: mixing is not driven by packet
 * arrival). Frames are due at start + k·frameMs on a monotonic clock; each timer
 * callback runs every frame that is due (at most MAX_CATCH_UP after a stall,
 * then it skips ahead and counts it) and re-arms for the next due time, so
 * timer lateness never accumulates into drift.
 */

const MAX_CATCH_UP = 5;

export function monotonicMs(): number {
  return performance.now();
}

export class MixClock {
  readonly #frameMs: number;
  readonly #onFrame: (dueMs: number) => void;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;
  #nextMs = 0;
  /** Frames dropped because the process stalled for longer than MAX_CATCH_UP frames. */
  skippedFrames = 0;
  frames = 0;

  constructor(frameMs: number, onFrame: (dueMs: number) => void, now: () => number = monotonicMs) {
    this.#frameMs = frameMs;
    this.#onFrame = onFrame;
    this.#now = now;
  }

  #running = false;

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#nextMs = this.#now() + this.#frameMs;
    this.#arm();
  }

  /** Idempotent; may be called from inside onFrame. */
  stop(): void {
    this.#running = false;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #arm(): void {
    const delay = Math.max(0, this.#nextMs - this.#now());
    this.#timer = setTimeout(this.#fire, delay);
    this.#timer.unref();
  }

  readonly #fire = (): void => {
    this.#timer = null;
    const now = this.#now();
    let n = 0;
    while (this.#running && now >= this.#nextMs && n < MAX_CATCH_UP) {
      const due = this.#nextMs;
      this.#nextMs += this.#frameMs;
      n++;
      this.frames++;
      this.#onFrame(due);
    }
    if (now >= this.#nextMs) {
      const behind = Math.floor((now - this.#nextMs) / this.#frameMs) + 1;
      this.skippedFrames += behind;
      this.#nextMs += behind * this.#frameMs;
    }
    if (this.#running) this.#arm(); // onFrame may have stopped the clock
  };
}
