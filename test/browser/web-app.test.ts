import { sql } from "kysely";
import type { Page } from "playwright-core";
import t from "tap";
import { launchBrowser, pageErrors, screenshot } from "../helpers/browser.ts";
import { createTestDatabase } from "../helpers/database.ts";
import { GOOD_PASSWORD } from "../helpers/web-client.ts";
import { mailedLink, startWeb, type WebProcess } from "../helpers/web-process.ts";
import { startWorkerApp } from "../helpers/worker.ts";

const EXPECTED_NOT_FOUND = /the server responded with a status of 404/;
const EXPECTED_REFUSED = /the server responded with a status of 403/;

async function signUp(page: Page, web: WebProcess, who: { name: string; email: string; organisation: string }): Promise<void> {
  await page.goto(web.url);
  await page.getByRole("link", { name: "Create an account" }).click();
  await page.getByLabel("Your name").fill(who.name);
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Organisation name").fill(who.organisation);
  await page.getByLabel("Password").fill(GOOD_PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { name: "Check your inbox" }).waitFor();
  // The development mailer writes the message to the web process's log: follow its link.
  await page.goto(new URL(await mailedLink(web, who.email, /Finish creating/), web.url).toString());
  await page.getByRole("button", { name: "Create my account" }).click();
  await page.waitForURL("**/dashboard");
}

async function createTestJob(page: Page, fields: { echo: string; failOnAttempts?: string; failMessage?: string }): Promise<string> {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Jobs" }).click();
  await page.getByRole("link", { name: "Create a test job" }).click();
  await page.getByLabel("Text to echo").fill(fields.echo);
  if (fields.failOnAttempts) await page.getByLabel("Fail the first N attempts").fill(fields.failOnAttempts);
  if (fields.failMessage) await page.getByLabel("Failure message").fill(fields.failMessage);
  await page.getByRole("button", { name: "Create job" }).click();
  await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
  return new URL(page.url()).pathname;
}

t.test("in a real browser: sign up, run a job, watch it on the dashboard, fail one and retry it", async (t) => {
  const db = await createTestDatabase(t);
  await startWorkerApp(t, db.url, { runJobs: true, env: { JOB_ROLLUP_FLUSH_SECONDS: "1", SHUTDOWN_TIMEOUT_SECONDS: "1" } });
  const web = await startWeb(t, db);
  const browser = await launchBrowser(t);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = pageErrors(page);

  await page.goto(web.url);
  await page.waitForURL("**/signin");
  await screenshot(page, "01-sign-in");
  await signUp(page, web, { name: "Ada", email: "ada@example.com", organisation: "Analytical Engines" });
  await page.getByRole("heading", { name: "Analytical Engines: operations" }).waitFor();
  await screenshot(page, "02-dashboard-empty");

  const jobPath = await createTestJob(page, { echo: "hello, browser" });
  await page.getByTestId("job-state").filter({ hasText: "completed" }).waitFor({ timeout: 20_000 });
  t.match(
    await page.getByTestId("job-output").textContent(),
    '"echo": "hello, browser"',
    "the job page followed the job to completion by itself",
  );
  await screenshot(page, "03-job-completed");

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Dashboard" }).click();
  await page.getByTestId("completed-24h").filter({ hasText: /^1$/ }).waitFor({ timeout: 20_000 });
  t.pass("the dashboard shows the completed job");

  // Straight to the dashboard while the job is still failing its attempts (retries back off for
  // seconds): the failure must appear there without a reload.
  const failingPath = await createTestJob(page, { echo: "doomed", failOnAttempts: "1000", failMessage: "the flux capacitor is cold" });
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Dashboard" }).click();
  await page.getByRole("heading", { name: "Recent failures" }).waitFor();
  t.equal(await page.getByTestId("failure").count(), 0, "no failure listed yet");
  // A full reload would lose this mark; in-place updates keep it.
  await page.evaluate(() => Object.assign(window, { stillTheSamePage: true }));
  await page.getByTestId("failure").filter({ hasText: "the flux capacitor is cold" }).waitFor({ timeout: 30_000 });
  await page.getByTestId("failed-24h").filter({ hasText: /^1$/ }).waitFor({ timeout: 20_000 });
  t.equal(
    await page.evaluate(() => (window as unknown as { stillTheSamePage?: boolean }).stillTheSamePage),
    true,
    "the dashboard updated itself in place (no reload)",
  );
  await screenshot(page, "05-dashboard-failure");
  await page.getByTestId("failure").getByRole("button", { name: "Retry" }).click();
  await page.getByRole("status").filter({ hasText: "Retrying" }).waitFor();
  await page.goto(new URL(failingPath, web.url).toString());
  t.match(
    await page.getByTestId("timeline").textContent(),
    /Attempt 3 failed after \d+ ms: the flux capacitor is cold/,
    "the job page shows every attempt",
  );
  // pg-boss's retry grants one more attempt and the job is due at once; this one fails on every
  // attempt, so within a second it is failed again. What shows the retry worked is a fourth attempt.
  await page
    .getByTestId("timeline")
    .filter({ hasText: /Attempt 4 failed after \d+ ms: the flux capacitor is cold/ })
    .waitFor({ timeout: 20_000 });
  t.pass("the retried job ran again: its timeline shows a fourth attempt");
  await screenshot(page, "04-job-retried");

  await t.test("another organisation's job URL is a 404", async (t) => {
    const eve = await browser.newContext();
    const evePage = await eve.newPage();
    await signUp(evePage, web, { name: "Eve", email: "eve@example.com", organisation: "Eve Corp" });
    const response = await evePage.goto(new URL(jobPath, web.url).toString());
    t.equal(response?.status(), 404);
    await evePage.getByRole("heading", { name: "Not found" }).waitFor();
    t.notMatch(await evePage.content(), "hello, browser", "nothing of the job is shown");
    await screenshot(evePage, "06-other-org-404");
    await eve.close();
  });

  await t.test("a form whose CSRF token was removed is refused and changes nothing", async (t) => {
    const before = (await sql<{ n: string }>`SELECT count(*) AS n FROM pgboss.job`.execute(db.handles.owner)).rows[0]!.n;
    await page.goto(new URL("/jobs/new", web.url).toString());
    await page.getByLabel("Text to echo").fill("forged");
    await page.locator('main form input[name="_csrf"]').evaluate((input) => input.remove());
    await page.getByRole("button", { name: "Create job" }).click();
    await page.getByRole("heading", { name: "Refused" }).waitFor();
    t.match(await page.locator("main").textContent(), "security token is missing");
    const after = (await sql<{ n: string }>`SELECT count(*) AS n FROM pgboss.job`.execute(db.handles.owner)).rows[0]!.n;
    t.equal(after, before, "no job was created");
    await screenshot(page, "07-csrf-refused");
  });

  await t.test("forms work by keyboard and fit a phone screen", async (t) => {
    const phone = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true });
    const phonePage = await phone.newPage();
    await phonePage.goto(new URL("/signin", web.url).toString());
    const focused: string[] = [];
    for (let i = 0; i < 6; i++) {
      await phonePage.keyboard.press("Tab");
      focused.push(
        await phonePage.evaluate(() => document.activeElement?.getAttribute("name") ?? document.activeElement?.textContent ?? ""),
      );
    }
    t.ok(
      focused.indexOf("email") >= 0 && focused.indexOf("password") > focused.indexOf("email"),
      `Tab reaches email, then password (${focused.join(" → ")})`,
    );
    await phonePage.getByLabel("Email").fill("ada@example.com");
    await phonePage.getByLabel("Password").fill(GOOD_PASSWORD);
    await phonePage.getByLabel("Password").press("Enter");
    await phonePage.waitForURL("**/dashboard");
    for (const [path, name] of [
      ["/dashboard", "08-phone-dashboard"],
      ["/jobs", "09-phone-jobs"],
      ["/jobs/new", "10-phone-new-job"],
      ["/agents/new", "11-phone-new-agent"],
      ["/tokens", "12-phone-tokens"],
    ] as const) {
      await phonePage.goto(new URL(path, web.url).toString());
      const overflow = await phonePage.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      t.equal(overflow, 0, `${path} has no sideways scrolling at 375 px`);
      await screenshot(phonePage, name);
    }
    const unlabelled = await phonePage
      .goto(new URL("/agents/new", web.url).toString())
      .then(() =>
        phonePage.evaluate(() =>
          [...document.querySelectorAll("main input:not([type=hidden]), main select, main textarea")]
            .filter((el) => !(el as HTMLInputElement).labels?.length)
            .map((el) => el.getAttribute("name")),
        ),
      );
    t.same(unlabelled, [], "every field of the agent form has a label");
    await phone.close();
  });

  const unexpected = errors.filter((e) => !EXPECTED_NOT_FOUND.test(e) && !EXPECTED_REFUSED.test(e));
  t.same(unexpected, [], "no console errors: no CSP violation, hydration worked");
});
