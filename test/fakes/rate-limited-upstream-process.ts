// node test/fakes/rate-limited-upstream-process.ts [limit]: the rate-limited fake upstream in a
// process of its own, so the timestamps it takes are not delayed by the work of the process that
// drives it (the benchmark's enqueueing and polling stalled a fake sharing its event loop, and
// made requests sent on time look bunched). Prints {"url": ...} once listening; GET
// /_fake/requests lists what it received. Stops on SIGTERM.
import { startRateLimitedUpstream } from "./rate-limited-upstream.ts";

const upstream = await startRateLimitedUpstream({ limit: Number(process.argv[2] ?? 7) });
console.log(JSON.stringify({ url: upstream.url }));
process.on("SIGTERM", () => void upstream.close().then(() => process.exit(0)));
