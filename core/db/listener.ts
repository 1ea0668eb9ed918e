import pg from "pg";

const RECONNECT_MAX_MS = 10_000;

export interface ListenerOptions {
  url: string;
  applicationName: string;
  /** Channel names, or SQL expressions evaluated once at connect (pg-boss derives its channel in SQL). */
  channels: readonly { name?: string; sql?: string }[];
  onNotification: (channel: string, payload: string | null) => void;
  /** After each (re)connect: whatever was sent while we were not listening is lost, so catch up. */
  onListening: () => void;
  onLost: (error: Error, retryInMs: number) => void;
}

/**
 * One connection LISTENing on a few channels, reconnecting with backoff when it drops. Users keep a
 * fallback (a poll, a cache TTL) for the gap, and onListening tells them when to catch up.
 */
export class PgListener {
  readonly #o: ListenerOptions;
  #client: pg.Client | undefined;
  #stopped = false;
  #retryMs = 250;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: ListenerOptions) {
    this.#o = options;
  }

  get connected(): boolean {
    return this.#client !== undefined;
  }

  async start(): Promise<void> {
    await this.#connect();
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#o.url, application_name: this.#o.applicationName, keepAlive: true });
    client.on("notification", (message) => this.#o.onNotification(message.channel, message.payload ?? null));
    client.on("error", (error) => this.#lost(client, error));
    client.on("end", () => this.#lost(client, new Error("connection ended")));
    try {
      await client.connect();
      for (const channel of this.#o.channels) {
        const name = channel.name ?? (await client.query<{ name: string }>(`SELECT ${channel.sql} AS name`)).rows[0]!.name;
        await client.query(`LISTEN ${client.escapeIdentifier(name)}`);
      }
    } catch (error) {
      await client.end().catch(() => {});
      this.#lost(client, error as Error);
      return;
    }
    this.#client = client;
    this.#retryMs = 250;
    this.#o.onListening();
  }

  #lost(client: pg.Client, error: Error): void {
    if (this.#stopped || (this.#client && this.#client !== client)) return;
    this.#client = undefined;
    this.#o.onLost(error, this.#retryMs);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#connect(), this.#retryMs);
    this.#timer.unref();
    this.#retryMs = Math.min(this.#retryMs * 2, RECONNECT_MAX_MS);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#client?.end().catch(() => {});
    this.#client = undefined;
  }
}
