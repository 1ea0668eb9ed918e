import type { FastifyBaseLogger } from "fastify";
import pg from "pg";
import { notifyChannelSql } from "./job-sql.ts";

const RECONNECT_MAX_MS = 10_000;

/**
 * Holds one connection LISTENing on pg-boss's channel, where every insert into a notify-enabled
 * queue (and every release) announces the queue's name, and wakes that queue's fetch loops within
 * milliseconds. While the connection is down the loops keep their backstop poll, so a lost
 * notification delays a job by at most the poll interval; after a reconnect every queue is woken
 * once to pick up anything announced meanwhile.
 */
export class QueueListener {
  readonly #url: string;
  readonly #log: FastifyBaseLogger;
  readonly #onWake: (queue: string | null) => void;
  #client: pg.Client | undefined;
  #stopped = false;
  #retryMs = 250;
  #timer: NodeJS.Timeout | undefined;

  constructor(url: string, log: FastifyBaseLogger, onWake: (queue: string | null) => void) {
    this.#url = url;
    this.#log = log;
    this.#onWake = onWake;
  }

  async start(): Promise<void> {
    await this.#connect();
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#url, application_name: "gpt-platform:worker:listen", keepAlive: true });
    client.on("notification", (message) => this.#onWake(message.payload ?? null));
    client.on("error", (error) => this.#lost(client, error));
    client.on("end", () => this.#lost(client, new Error("connection ended")));
    try {
      await client.connect();
      const { rows } = await client.query<{ channel: string }>(`SELECT ${notifyChannelSql()} AS channel`);
      await client.query(`LISTEN "${rows[0]!.channel}"`);
    } catch (error) {
      await client.end().catch(() => {});
      this.#lost(client, error as Error);
      return;
    }
    this.#client = client;
    this.#retryMs = 250;
    this.#onWake(null); // anything sent while we were not listening
  }

  #lost(client: pg.Client, error: Error): void {
    if (this.#stopped || (this.#client && this.#client !== client)) return;
    this.#client = undefined;
    this.#log.warn({ err: error, retryInMs: this.#retryMs }, "job notifications lost; fetch loops poll until the listener reconnects");
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#connect(), this.#retryMs);
    this.#timer.unref();
    this.#retryMs = Math.min(this.#retryMs * 2, RECONNECT_MAX_MS);
  }

  get connected(): boolean {
    return this.#client !== undefined;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#client?.end().catch(() => {});
    this.#client = undefined;
  }
}
