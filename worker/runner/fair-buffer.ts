/**
 * Claimed jobs waiting for a handler slot: taken in turn between organisations, oldest first within
 * each. The claim is fair between organisations, but a runner of quick jobs holds hundreds claimed
 * ahead of its slots; without this, a quiet organisation's job claimed behind a noisy one's batch
 * would still wait for all of that batch to run first.
 */
export class FairBuffer<T> {
  /** Per organisation, its jobs in claim order; Map order is the turn (the next to serve first). */
  readonly #queues = new Map<string, { items: T[]; head: number; weight: number; servedInTurn: number }>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** `weight`: the organisation's fair-share weight; it is served that many jobs in a row per turn. */
  push(org: string, item: T, weight = 1): void {
    let queue = this.#queues.get(org);
    if (!queue) {
      queue = { items: [], head: 0, weight, servedInTurn: 0 };
      this.#queues.set(org, queue);
    }
    queue.weight = weight;
    queue.items.push(item);
    this.#size++;
  }

  /**
   * The next job: the oldest of the organisation whose turn it is; after as many jobs in a row as
   * its weight, that organisation goes to the back.
   */
  shift(): T | undefined {
    for (const [org, queue] of this.#queues) {
      const item = queue.items[queue.head++]!;
      this.#size--;
      if (queue.head < queue.items.length && ++queue.servedInTurn < queue.weight) return item;
      queue.servedInTurn = 0;
      this.#queues.delete(org);
      if (queue.head < queue.items.length) {
        if (queue.head > 1024 && queue.head * 2 > queue.items.length) {
          queue.items = queue.items.slice(queue.head);
          queue.head = 0;
        }
        this.#queues.set(org, queue);
      }
      return item;
    }
    return undefined;
  }

  /** Takes everything, oldest first within each organisation. */
  drain(): T[] {
    const all = [...this.#queues.values()].flatMap((queue) => queue.items.slice(queue.head));
    this.#queues.clear();
    this.#size = 0;
    return all;
  }
}
