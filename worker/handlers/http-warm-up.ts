/**
 * Node loads its HTTP client (undici) on the first fetch(): about 70 ms on the benchmark machine,
 * more while the process is still starting. A rate-limited job admitted for a start time would send
 * its request that much late, after its runner saw it start on time (so re-booking late starts,
 * QueueRunner#startBooked, cannot catch it), and the next jobs' requests, on time, bunch up behind
 * it: the upstream sees one request more in a second than the budget allowed. Measured with
 * `npm run bench -- --rate-limits-only`: without this, 8 requests within one second in 1 of 2 runs;
 * with it, 7 at most in 3 of 3. A data: URL loads the client without touching the network.
 */
export async function warmHttpClient(): Promise<void> {
  await (await fetch("data:,")).arrayBuffer();
}
