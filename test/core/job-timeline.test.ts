import t from "tap";
import type { FailedAttempt } from "../../core/jobs/job-attempts.ts";
import type { JobRecord } from "../../core/jobs/job-queries.ts";
import { jobTimeline } from "../../core/jobs/job-timeline.ts";

const at = (second: number) => new Date(Date.UTC(2026, 10, 22, 12, 0, second));

function job(overrides: Partial<JobRecord>): JobRecord {
  return {
    id: "00000000-0000-4000-8000-000000000001",
    type: "test-job",
    state: "created",
    priority: 0,
    payload: {},
    output: null,
    retryCount: 0,
    retryLimit: 2,
    createdAt: at(0),
    startAfter: at(0),
    startedAt: null,
    completedAt: null,
    deadLetteredFrom: null,
    deadLetteredJobId: null,
    ...overrides,
  };
}

function failure(attempt: number, final = false): FailedAttempt {
  return { attempt, failedAt: at(attempt * 10), runMs: 5, message: `boom ${attempt}`, final };
}

t.test("a job that failed, retried and completed", async (t) => {
  const lines = jobTimeline(job({ state: "completed", retryCount: 1, startedAt: at(20), completedAt: at(21) }), [failure(1)]);
  t.same(
    lines.map((l) => l.kind),
    ["created", "failed", "completed"],
  );
  t.equal(lines[1]!.text, "Attempt 1 failed after 5 ms: boom 1");
  t.equal(lines[2]!.text, "Attempt 2 completed");
});

t.test("a job whose attempts all failed is shown going to the dead-letter queue", async (t) => {
  const lines = jobTimeline(job({ state: "failed", retryCount: 2, startedAt: at(30), completedAt: at(30) }), [
    failure(1),
    failure(2),
    failure(3, true),
  ]);
  t.same(
    lines.map((l) => l.attempt),
    [null, 1, 2, 3],
  );
  t.match(lines[3]!.text, "Attempt 3 failed after 5 ms: boom 3; no retries left, sent to the dead-letter queue");
});

t.test("an attempt cut short is told apart from a final failure nobody recorded", async (t) => {
  const waiting = jobTimeline(job({ state: "retry", retryCount: 1, startAfter: at(40) }), []);
  t.same(
    waiting.map((l) => l.kind),
    ["created", "lost", "due"],
  );
  t.match(waiting[1]!.text, "did not finish");
  t.equal(waiting[2]!.text, "Attempt 2 due");

  const expired = jobTimeline(
    job({ state: "failed", retryCount: 0, startedAt: at(1), completedAt: at(901), output: { message: "job expired" } }),
    [],
  );
  t.same(
    expired.map((l) => l.kind),
    ["created", "failed"],
    "an expired last attempt is a failure, not a lost attempt",
  );
  t.equal(expired[1]!.text, "Attempt 1 failed: job expired; no retries left");
  const silent = jobTimeline(job({ state: "failed", startedAt: at(1), completedAt: at(2) }), []);
  t.equal(silent[1]!.text, "Attempt 1 failed: no error was recorded; no retries left");
});

t.test("running and cancelled jobs", async (t) => {
  t.same(
    jobTimeline(job({ state: "active", startedAt: at(1) }), []).map((l) => l.kind),
    ["created", "running"],
  );
  const cancelled = jobTimeline(job({ state: "cancelled", startedAt: at(1), completedAt: at(2) }), []);
  t.same(
    cancelled.map((l) => l.kind),
    ["created", "cancelled"],
  );
});

t.test("snoozes show before the attempt they held back, which they did not spend", async (t) => {
  const snooze = (n: number, attempt: number, kind: "rate-limit" | "handler", second: number, seconds: number) => ({
    n,
    attempt,
    kind,
    reason: kind === "rate-limit" ? "waiting for the rate limit kommo:7 (7 per 1 s)" : "upstream answered 429",
    snoozedAt: at(second),
    until: at(second + seconds),
  });
  const lines = jobTimeline(
    job({ state: "completed", retryCount: 1, startedAt: at(40), completedAt: at(41) }),
    [failure(1)],
    [snooze(1, 1, "rate-limit", 1, 2), snooze(2, 2, "handler", 20, 15), snooze(3, 2, "rate-limit", 35, 0.25)],
  );
  t.same(
    lines.map((l) => `${l.kind}:${l.attempt}`),
    ["created:null", "snoozed:1", "failed:1", "snoozed:2", "snoozed:2", "completed:2"],
  );
  t.equal(lines[1]!.text, "Attempt 1 held back for 2.0 s, not spent: waiting for the rate limit kommo:7 (7 per 1 s)");
  t.equal(lines[3]!.text, "Attempt 2 snoozed by its handler for 15 s, not spent: upstream answered 429");

  const waiting = jobTimeline(job({ state: "created" }), [], [snooze(1, 1, "handler", 5, 30)]);
  t.same(
    waiting.map((l) => l.kind),
    ["created", "snoozed", "due"],
    "a job snoozed now: the snooze, then when it is due",
  );
});
