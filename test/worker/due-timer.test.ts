import { setTimeout as sleep } from "node:timers/promises";
import t from "tap";
import { DueTimer } from "../../worker/runner/due-timer.ts";

t.test("fires at each time added, earliest first, with one timer", async (t) => {
  const started = performance.now();
  const fired: number[] = [];
  const timer = new DueTimer(() => fired.push(Math.round(performance.now() - started)));
  timer.add(120);
  timer.add(40);
  timer.add(40.5);
  await sleep(200);
  t.equal(fired.length, 2, `two firings for three times, two of them within a millisecond (${fired.join(", ")} ms)`);
  t.ok(fired[0]! >= 40 && fired[1]! >= 120, "never early");
  timer.stop();
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
