import t from "tap";
import { FairBuffer } from "../../worker/runner/fair-buffer.ts";

t.test("takes organisations in turn, oldest first within each", async (t) => {
  const buffer = new FairBuffer<string>();
  for (const job of ["noisy-1", "noisy-2", "noisy-3", "noisy-4"]) buffer.push("noisy", job);
  buffer.push("quiet", "quiet-1");
  buffer.push("third", "third-1");
  buffer.push("quiet", "quiet-2");
  t.equal(buffer.size, 7);
  const order = Array.from({ length: 7 }, () => buffer.shift());
  t.same(order, ["noisy-1", "quiet-1", "third-1", "noisy-2", "quiet-2", "noisy-3", "noisy-4"]);
  t.equal(buffer.size, 0);
  t.equal(buffer.shift(), undefined, "empty: nothing, not an error");
});

t.test("an organisation that arrives later joins the turn at its back", async (t) => {
  const buffer = new FairBuffer<string>();
  buffer.push("a", "a-1");
  buffer.push("a", "a-2");
  buffer.push("b", "b-1");
  t.equal(buffer.shift(), "a-1");
  buffer.push("c", "c-1");
  t.same([buffer.shift(), buffer.shift(), buffer.shift()], ["b-1", "a-2", "c-1"]);
});

t.test("drain() hands back everything left, in claim order per organisation", async (t) => {
  const buffer = new FairBuffer<number>();
  for (let i = 0; i < 3000; i++) buffer.push(i % 3 === 0 ? "quiet" : "noisy", i);
  // Past the compaction threshold of one organisation's queue (1,024 taken).
  for (let i = 0; i < 2400; i++) buffer.shift();
  const left = buffer.drain();
  t.equal(left.length, 600);
  t.equal(buffer.size, 0);
  const noisy = left.filter((i) => i % 3 !== 0);
  t.same(
    noisy,
    [...noisy].sort((a, b) => a - b),
    "oldest first",
  );
  t.equal(new Set(left).size, 600, "nothing twice");
});

t.test("an organisation with weight w is served w jobs in a row per turn", async (t) => {
  const buffer = new FairBuffer<string>();
  for (let i = 1; i <= 5; i++) buffer.push("business", `b-${i}`, 3);
  for (let i = 1; i <= 3; i++) buffer.push("free", `f-${i}`, 1);
  const order = Array.from({ length: 8 }, () => buffer.shift());
  t.same(order, ["b-1", "b-2", "b-3", "f-1", "b-4", "b-5", "f-2", "f-3"]);
});
