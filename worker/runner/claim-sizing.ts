/**
 * How many jobs of one type a process should hold: its handler slots plus a prefetch of claimed
 * jobs waiting for a slot. The prefetch is what the slots will start within a short horizon at
 * the type's observed run time, so a type of 0 ms jobs claims whole batches (throughput) while a
 * type whose jobs take seconds holds barely more than it runs, leaving the rest to other processes.
 */
export class ClaimSizing {
  /** A claimed job should start within about this long. */
  static readonly HORIZON_MS = 100;
  /** Weight of the newest run in the moving average: adapts within a few dozen jobs. */
  static readonly SMOOTHING = 0.1;

  readonly concurrency: number;
  readonly batchSize: number;
  readonly #prefetchMax: number;
  #averageRunMs: number | undefined;

  /** `claimsAtOnce`: claim statements a type may have in flight; together they may fill the prefetch. */
  constructor(options: { concurrency: number; batchSize: number; claimsAtOnce: number }) {
    this.concurrency = options.concurrency;
    this.batchSize = options.batchSize;
    this.#prefetchMax = options.batchSize * options.claimsAtOnce;
  }

  record(runMs: number): void {
    this.#averageRunMs =
      this.#averageRunMs === undefined ? runMs : this.#averageRunMs + ClaimSizing.SMOOTHING * (runMs - this.#averageRunMs);
  }

  get averageRunMs(): number | undefined {
    return this.#averageRunMs;
  }

  /** Claimed jobs to hold beyond the slots. None until a run time is known: a new type starts cautious. */
  get prefetch(): number {
    if (this.#averageRunMs === undefined) return 0;
    const startable = Math.floor((this.concurrency * ClaimSizing.HORIZON_MS) / Math.max(this.#averageRunMs, 0.01));
    return Math.min(startable, this.#prefetchMax);
  }

  /**
   * How many to claim now, given the jobs already held (running, waiting for a slot, or asked for
   * by a claim in flight); 0 means not now. While work is waiting for a slot, only a worthwhile
   * batch is claimed, unless `eager` (a job was just queued: it should not wait for the batch to
   * fill up); when nothing is waiting, any free slot is worth a claim.
   */
  claimSize(held: number, waiting: number, eager = false): number {
    const prefetch = this.prefetch;
    const want = Math.min(this.batchSize, this.concurrency + prefetch - held);
    if (want <= 0) return 0;
    if (!eager && waiting > 0 && want < Math.min(this.batchSize, Math.ceil(prefetch / 2))) return 0;
    return claimableSize(want, this.batchSize);
  }
}

/**
 * `want` rounded down to a power of two, or the batch size: the limit is part of the claim's text
 * (a prepared statement per limit and connection), and a limit per number of free slots meant a
 * statement parsed and planned for nearly every claim (2-4 ms each for the fair claim).
 */
export function claimableSize(want: number, batchSize: number): number {
  if (want >= batchSize) return batchSize;
  return 2 ** Math.floor(Math.log2(want));
}
