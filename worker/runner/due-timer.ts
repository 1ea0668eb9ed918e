/** Times this close to the one that fires are due with it: timers fire up to a millisecond early or late. */
const COALESCE_MS = 5;

/**
 * Calls `onDue` at each of the times added (coalescing those a few milliseconds apart), with one timer
 * for the earliest. The runner adds the times its snoozed jobs come due: snoozes send no NOTIFY,
 * and the backstop poll (seconds) would leave a rate-limited key's slots unused meanwhile.
 */
export class DueTimer {
  readonly #onDue: () => void;
  #dueTimes: number[] = [];
  #timer: NodeJS.Timeout | undefined;
  #armedFor = Number.POSITIVE_INFINITY;
  #stopped = false;

  constructor(onDue: () => void) {
    this.#onDue = onDue;
  }

  /** Calls onDue in `ms` (from now). */
  add(ms: number): void {
    if (this.#stopped) return;
    const due = performance.now() + ms;
    this.#dueTimes.push(due);
    if (due < this.#armedFor) this.#arm(due);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#dueTimes = [];
  }

  #arm(due: number): void {
    clearTimeout(this.#timer);
    this.#armedFor = due;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, due - performance.now()));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const now = performance.now();
    this.#dueTimes = this.#dueTimes.filter((due) => due > now + COALESCE_MS);
    if (this.#dueTimes.length > 0) this.#arm(this.#dueTimes.reduce((a, b) => Math.min(a, b)));
    this.#onDue();
  }
}
