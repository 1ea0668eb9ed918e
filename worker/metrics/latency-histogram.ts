import type { Registry } from "prom-client";
import { LATENCY_BUCKET_BOUNDS_MS, LATENCY_BUCKET_COUNT } from "../../core/jobs/rollups.ts";

interface Series {
  buckets: number[];
  sum: number;
  count: number;
}

/**
 * A Prometheus histogram per queue whose observations arrive already bucketed: the job runner
 * computes each latency's bucket once (core/jobs/rollups.ts bounds) and both this metric and the
 * SQL rollups count it, so the two agree exactly and the hot path pays for one lookup, not two.
 * Registered with prom-client as a custom metric; the text it renders is a standard histogram.
 */
export class LatencyHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = "histogram";
  readonly aggregator = "sum";
  readonly #series = new Map<string, Series>();

  constructor(options: { name: string; help: string; registers: Registry[] }) {
    this.name = options.name;
    this.help = options.help;
    for (const registry of options.registers) registry.registerMetric(this as never);
  }

  observe(queue: string, bucket: number, milliseconds: number): void {
    let series = this.#series.get(queue);
    if (!series) {
      series = { buckets: new Array<number>(LATENCY_BUCKET_COUNT).fill(0), sum: 0, count: 0 };
      this.#series.set(queue, series);
    }
    series.buckets[bucket]!++;
    series.sum += milliseconds / 1000;
    series.count++;
  }

  /** Observed count for a queue (tests, JSON metrics). */
  count(queue: string): number {
    return this.#series.get(queue)?.count ?? 0;
  }

  async get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const [queue, series] of this.#series) {
      let cumulative = 0;
      LATENCY_BUCKET_BOUNDS_MS.forEach((boundMs, i) => {
        cumulative += series.buckets[i]!;
        values.push({ labels: { queue, le: boundMs / 1000 }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { queue, le: "+Inf" }, value: series.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { queue }, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { queue }, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.#series.clear();
  }
}
