import { setTimeout as sleep } from "node:timers/promises";
import t from "tap";
import { DueTimer } from "../../worker/runner/due-timer.ts";

t.test("fires for the times added, earliest first, coalescing those a few milliseconds apart", async (t) => {
  const started = performance.now();
  const fired: number[] = [];
  const timer = new DueTimer(() => fired.push(performance.now() - started));
  timer.add(200);
  timer.add(20);
  timer.add(22);
  await sleep(400);
  timer.stop();
  // A loaded machine may fire late (then fewer firings cover all three), never three times.
  t.ok(fired.length >= 1 && fired.length <= 2, `fired ${fired.length} times for three times, two of them 2 ms apart`);
  t.ok(fired.at(-1)! >= 195, `the last firing covers the time 200 ms out (${Math.round(fired.at(-1)!)} ms)`);
});

t.test("stop() cancels what is pending and ignores later times", async (t) => {
  let fired = 0;
  const timer = new DueTimer(() => fired++);
  timer.add(20);
  timer.stop();
  timer.add(10);
  await sleep(60);
  t.equal(fired, 0);
});
