import t from "tap";
import { createTestDatabase } from "../helpers/database.ts";

interface Admission {
  job: number;
  admitted: boolean;
  wait_seconds: number;
}

t.test("ops.rate_limit_admit books evenly spaced starts and snoozes the rest in line", async (t) => {
  const db = await createTestDatabase(t);
  const admit = async (jobs: [number, string, number][], hold = 1) => {
    const { rows } = await db.handles.ownerPool.query<Admission>(
      "SELECT job, admitted, wait_seconds FROM ops.rate_limit_admit($1::int[], $2::text[], $3::float8[], $4)",
      [jobs.map((j) => j[0]), jobs.map((j) => j[1]), jobs.map((j) => j[2]), hold],
    );
    return rows.map((r) => ({ job: r.job, admitted: r.admitted, wait: Math.round(r.wait_seconds * 10) / 10 }));
  };

  await t.test("one key: a start every spend, within the hold; then snoozes one spend apart", async (t) => {
    const rows = await admit([1, 2, 3, 4, 5].map((j) => [j, "k:one", 0.5]));
    t.same(rows, [
      { job: 1, admitted: true, wait: 0 },
      { job: 2, admitted: true, wait: 0.5 },
      { job: 3, admitted: true, wait: 1 },
      { job: 4, admitted: false, wait: 1.5 },
      { job: 5, admitted: false, wait: 2 },
    ]);
    const later = await admit([[1, "k:one", 0.5]]);
    t.same(later, [{ job: 1, admitted: false, wait: 2.5 }], "a newcomer waits behind the snoozed ones");
  });

  await t.test("a job with two keys starts when both allow, and books both", async (t) => {
    await admit([[1, "k:slow", 0.9]]);
    const rows = await admit([
      [1, "k:fast", 0.2],
      [1, "k:slow", 0.9],
      [2, "k:fast", 0.2],
    ]);
    t.same(rows, [
      { job: 1, admitted: true, wait: 0.9 },
      { job: 2, admitted: false, wait: 1.1 },
    ]);
  });

  await t.test("another key's budget is not touched", async (t) => {
    t.same(await admit([[1, "k:other", 0.5]]), [{ job: 1, admitted: true, wait: 0 }]);
  });

  await t.test("a 429 pushes the budget back", async (t) => {
    await db.handles.ownerPool.query("SELECT ops.rate_limit_push(ARRAY['k:pushed'], 3)");
    t.same(await admit([[1, "k:pushed", 0.1]], 1), [{ job: 1, admitted: false, wait: 3 }]);
  });

  await t.test("bad input is refused with the lengths it got", async (t) => {
    await t.rejects(db.handles.ownerPool.query("SELECT * FROM ops.rate_limit_admit(ARRAY[1,2], ARRAY['k'], ARRAY[0.1], 1)"), {
      code: "22023",
      message: /same length \(got 2, 1, 1\)/,
    });
  });

  await t.test("two workers booking at once never get the same start", async (t) => {
    const batches = await Promise.all(
      Array.from({ length: 8 }, () =>
        db.handles.ownerPool.query<Admission & { at: number }>(
          `SELECT a.*, extract(epoch FROM clock_timestamp())::float8 + a.wait_seconds AS at
           FROM ops.rate_limit_admit(ARRAY[1, 2], ARRAY['k:race', 'k:race'], ARRAY[0.2, 0.2], 100) a`,
        ),
      ),
    );
    const starts = batches.flatMap((b) => b.rows.map((r) => r.at)).sort((a, b) => a - b);
    t.equal(starts.length, 16);
    const gaps = starts.slice(1).map((s, i) => s - starts[i]!);
    t.ok(
      gaps.every((g) => g > 0.19),
      `every start at least one spend after the previous (smallest gap ${Math.min(...gaps).toFixed(3)} s)`,
    );
  });
});
