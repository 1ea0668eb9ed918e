import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { promisify } from "node:util";
import { ProvisionError } from "./provision.ts";

const run = promisify(execFile);
export const LOCAL_REDIS_URL = "redis://127.0.0.1:6379";

/** True when something on host:port answers a Redis PING with PONG. */
export function redisAnswers(url: string, timeoutMs = 1000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || 6379) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (data) => done(data.toString().startsWith("+PONG")));
  });
}

/**
 * A Redis for the test suite: the given URL, or the local one, started (and installed from
 * Debian's packages) when nothing answers and we are root. Persistence off: it is a cache.
 */
export async function provisionRedis(explicitUrl: string | undefined, log: (line: string) => void): Promise<string> {
  const url = explicitUrl ?? LOCAL_REDIS_URL;
  if (await redisAnswers(url)) {
    log(`redis: answers at ${new URL(url).host}`);
    return url;
  }
  if (explicitUrl) throw new ProvisionError(`Redis at ${new URL(url).host} does not answer; start it or fix the URL`);
  if (process.getuid?.() !== 0) {
    throw new ProvisionError(
      "no Redis answers on 127.0.0.1:6379 and this user cannot start one: start redis-server, or set TEST_REDIS_URL",
    );
  }
  if (!existsSync("/usr/bin/redis-server")) {
    log("redis: installing redis-server from Debian's packages");
    await run("bash", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null"]);
  }
  log("redis: starting redis-server on 127.0.0.1:6379 (no persistence)");
  await run("redis-server", ["--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379", "--save", "", "--appendonly", "no"]);
  for (let i = 0; i < 50; i++) {
    if (await redisAnswers(url)) return url;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new ProvisionError("redis-server was started but does not answer on 127.0.0.1:6379");
}
