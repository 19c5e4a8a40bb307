/**
 * Pacing by event time, as amazon-kinesis-replay does: the event with time T is sent when
 * (T - T0) / speedup has elapsed on the wall clock since the replay's start, T0 being the event
 * time of the first event sent. Replay lag is how far behind that schedule an event goes out
 * (the sender is too slow, or Kinesis pushes back); it is what the statistics report.
 */
import { sleep } from '../common/retry.js';

/** A clock the pacer reads and waits on; tests pass a fake that moves time without sleeping. */
export interface Clock {
  /** Epoch ms now. */
  now(): number;
  /** Resolves after `ms`. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The system clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, signal),
};

/** Paces events by their timestamps. */
export class Pacer {
  readonly #clock: Clock;
  readonly #speedup: number;
  #startWall: number | undefined;
  #firstEvent: number | undefined;
  #highWater = -Infinity;
  #lagMs = 0;
  #maxLagMs = 0;

  /** `speedup`: how many times faster than real time (> 0; Infinity for no pacing). */
  constructor(speedup: number, clock: Clock = systemClock) {
    if (!(speedup > 0)) throw new RangeError(`speedup must be > 0, got ${speedup}`);
    this.#speedup = speedup;
    this.#clock = clock;
  }

  /** The wall time (epoch ms) the event with this time is due; the first call sets the origin. */
  dueAt(eventTime: number): number {
    if (this.#startWall === undefined || this.#firstEvent === undefined) {
      this.#startWall = this.#clock.now();
      this.#firstEvent = eventTime;
    }
    const offset = Number.isFinite(this.#speedup) ? (eventTime - this.#firstEvent) / this.#speedup : 0;
    return this.#startWall + Math.max(0, offset);
  }

  /**
   * Waits until the event is due and returns how late it goes out (ms, ≥ 0). An event older than
   * one already paced (late out of the reorder buffer) goes at once and does not count as lag.
   */
  async wait(eventTime: number, signal?: AbortSignal): Promise<{ lagMs: number; late: boolean }> {
    const due = this.dueAt(eventTime);
    const late = eventTime < this.#highWater;
    if (!late) this.#highWater = eventTime;
    let now = this.#clock.now();
    // Waits under a millisecond are not worth a timer (setTimeout rounds them up to 1 ms).
    if (due - now >= 1) {
      await this.#clock.sleep(due - now, signal);
      now = this.#clock.now();
    }
    const lag = late ? 0 : Math.max(0, now - due);
    if (!late) this.#lagMs = lag;
    if (lag > this.#maxLagMs) this.#maxLagMs = lag;
    return { lagMs: lag, late };
  }

  /** The lag of the last event paced, ms. */
  get lagMs(): number {
    return this.#lagMs;
  }

  /** The largest lag so far, ms. */
  get maxLagMs(): number {
    return this.#maxLagMs;
  }
}
