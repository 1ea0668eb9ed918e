import t from "tap";
import { ClaimSizing, claimableSize } from "../../worker/runner/claim-sizing.ts";

t.test("a new job type claims only its free slots, until a run time is known", async (t) => {
  const sizing = new ClaimSizing({ concurrency: 10, batchSize: 400, claimsAtOnce: 4 });
  t.equal(sizing.prefetch, 0);
  t.equal(sizing.claimSize(0, 0), 8, "10 free slots, rounded down to a power of two");
  t.equal(sizing.claimSize(10, 0), 0, "every slot busy: nothing");
});

t.test("quick jobs prefetch what the slots start within 100 ms, up to the batches in flight", async (t) => {
  const sizing = new ClaimSizing({ concurrency: 10, batchSize: 400, claimsAtOnce: 4 });
  sizing.record(1);
  t.equal(sizing.prefetch, 1000, "10 slots x 100 ms / 1 ms");
  t.equal(sizing.claimSize(0, 0), 400, "a whole batch");
  sizing.record(0);
  for (let i = 0; i < 100; i++) sizing.record(0);
  t.equal(sizing.prefetch, 1600, "capped at four batches of 400");
});

t.test("slow jobs hold barely more than they run", async (t) => {
  const sizing = new ClaimSizing({ concurrency: 10, batchSize: 400, claimsAtOnce: 4 });
  sizing.record(2000);
  t.equal(sizing.prefetch, 0, "10 x 100 / 2000 rounds down to nothing");
  t.equal(sizing.claimSize(9, 0), 1, "one free slot, one job");
  t.equal(sizing.claimSize(10, 0), 0);
});

t.test("while jobs wait for a slot, only a worthwhile batch is claimed, unless a job was just queued", async (t) => {
  const sizing = new ClaimSizing({ concurrency: 10, batchSize: 400, claimsAtOnce: 4 });
  sizing.record(2); // prefetch 500
  t.equal(sizing.prefetch, 500);
  t.equal(sizing.claimSize(490, 480), 0, "room for 20 while 480 wait: not worth a claim yet");
  t.equal(sizing.claimSize(490, 480, true), 16, "eager: a NOTIFY's job should not wait for the batch to fill");
  t.equal(sizing.claimSize(250, 240), 256, "room for 260: a claim of 256");
});

t.test("the moving average follows a change of run time within a few dozen jobs", async (t) => {
  const sizing = new ClaimSizing({ concurrency: 10, batchSize: 400, claimsAtOnce: 4 });
  sizing.record(1);
  for (let i = 0; i < 40; i++) sizing.record(1000);
  t.ok(sizing.averageRunMs! > 980, `average ${sizing.averageRunMs!.toFixed(1)} ms after 40 runs of 1 s`);
  t.equal(sizing.prefetch, 1);
});

t.test("claim sizes are the batch or a power of two", async (t) => {
  t.same(
    [1, 2, 3, 7, 8, 9, 399, 400, 401].map((want) => claimableSize(want, 400)),
    [1, 2, 2, 4, 8, 8, 256, 400, 400],
  );
});
