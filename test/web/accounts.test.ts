import { randomInt } from "node:crypto";
import { sql } from "kysely";
import t from "tap";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";
import { testEnv } from "../helpers/test-env.ts";
import { awayFromWindowEnd, waitFor } from "../helpers/wait.ts";
import { GOOD_PASSWORD, pageText, signUpClient, WebClient } from "../helpers/web-client.ts";
import { mailedLink, startWeb } from "../helpers/web-process.ts";

async function userCount(db: TestDatabase): Promise<number> {
  const { rows } = await sql<{ n: string }>`SELECT count(*) AS n FROM app.users`.execute(db.handles.owner);
  return Number(rows[0]!.n);
}

t.test("sign up, sign out, sign in", async (t) => {
  const db = await createTestDatabase(t);
  const web = await startWeb(t, db);
  const browser = new WebClient(web.url);

  t.equal((await browser.get("/")).location, "/signin", "the start page sends strangers to sign in");
  t.equal((await browser.get("/dashboard")).location, "/signin?next=%2Fdashboard", "pages behind sign-in send you to it and back");

  await t.test("bad sign-ups are refused field by field and create nothing", async (t) => {
    const bad = await browser.submit("/signup", { displayName: "", email: "not-an-email", organisationName: "", password: "short" });
    t.equal(bad.status, 400);
    const text = pageText(bad.html);
    t.match(text, "Enter your name.");
    t.match(text, "Enter an email address like name@example.com.");
    t.match(text, "Name your organisation.");
    t.match(text, /at least 12 characters/i);
    const common = await browser.submit("/signup", {
      displayName: "A",
      email: "a@example.com",
      organisationName: "A",
      password: "password1234",
    });
    t.equal(common.status, 400);
    t.match(pageText(common.html), /breach|common|guess/i, "a common password is refused with a reason");
    const personal = await browser.submit("/signup", {
      displayName: "Ada Lovelace",
      email: "ada.lovelace@example.com",
      organisationName: "Analytical",
      password: "adalovelace-analytical",
    });
    t.equal(personal.status, 400, "a password made of the user's own details is refused");
    t.equal(await userCount(db), 0);
  });

  let firstSession = "";
  await t.test("a good sign-up mails a link; the link creates the user, their organisation, and a session", async (t) => {
    const asked = await browser.submit("/signup", {
      displayName: "Ada",
      email: "Ada@Example.com",
      organisationName: "Engines Ltd",
      password: GOOD_PASSWORD,
    });
    t.equal(asked.status, 200);
    t.match(pageText(asked.html), "Check your inbox");
    t.equal(await userCount(db), 0, "nothing exists until the link is used");
    const link = await mailedLink(web, "ada@example.com", /Finish creating/);
    const confirm = await browser.get(link);
    t.match(
      pageText(confirm.html),
      /An account for ada@example\.com \(Ada\), with a new organisation, Engines Ltd ?\./,
      "opening the link only shows what it will do",
    );
    t.equal(await userCount(db), 0, "a mail scanner that opens the link creates nothing");
    const replayer = new WebClient(web.url);
    await replayer.get(link); // holds the form while the link still works
    const ok = await browser.post(link, {});
    t.equal(ok.status, 302);
    t.equal(ok.location, "/dashboard");
    const replay = await replayer.post(link, {});
    t.equal(replay.status, 400, "the link works once");
    t.match(pageText(replay.html), "This link no longer works");
    const cookie = ok.headers.getSetCookie().find((c) => c.startsWith("gpt_session="))!;
    t.match(cookie, /HttpOnly/);
    t.match(cookie, /SameSite=Lax/);
    t.notMatch(cookie, /Secure/, "not Secure over plain http (it is when WEB_PUBLIC_URL is https)");
    firstSession = browser.cookies.get("gpt_session")!;
    const dashboard = await browser.get("/dashboard");
    t.equal(dashboard.status, 200);
    t.match(pageText(dashboard.html), "Engines Ltd: operations");
    const { rows } = await sql<{ email: string; role: string }>`
      SELECT u.email, m.role FROM app.users u JOIN app.memberships m ON m.user_id = u.id`.execute(db.handles.owner);
    t.same(rows, [{ email: "ada@example.com", role: "owner" }], "email normalised; the creator owns the organisation");
    const stored = await sql<{ password_hash: string }>`SELECT password_hash FROM app.users`.execute(db.handles.owner);
    t.match(stored.rows[0]!.password_hash, /^scrypt\$131072\$8\$1\$/, "the password is stored as a scrypt hash at OWASP's cost (N = 2^17)");
  });

  await t.test("signing up with a registered email looks the same as a new one; only the inbox is told", async (t) => {
    const registered = await new WebClient(web.url).submit("/signup", {
      displayName: "X",
      email: "ada@example.com",
      organisationName: "X",
      password: GOOD_PASSWORD,
    });
    const fresh = await new WebClient(web.url).submit("/signup", {
      displayName: "X",
      email: "newcomer@example.com",
      organisationName: "X",
      password: GOOD_PASSWORD,
    });
    t.equal(registered.status, fresh.status, "the same status");
    t.equal(
      pageText(registered.html).replace("ada@example.com", "<email>"),
      pageText(fresh.html).replace("newcomer@example.com", "<email>"),
      "the same page, but for the address it names",
    );
    t.equal(
      await mailedLink(web, "ada@example.com", /already have/),
      "/signin",
      "the address's owner is told it has an account, and where to sign in",
    );
    t.equal(await userCount(db), 1, "and no second account exists");
  });

  await t.test("sign-out revokes the session in the database, not just the cookie", async (t) => {
    await browser.get("/dashboard");
    const out = await browser.post("/signout", {});
    t.equal(out.location, "/signin");
    t.notOk(browser.cookies.has("gpt_session"), "the cookie is cleared");
    const replay = new WebClient(web.url);
    replay.cookies.set("gpt_session", firstSession);
    t.equal((await replay.get("/dashboard")).status, 302, "the old cookie no longer signs anyone in");
  });

  await t.test("sign-in: one answer for a wrong password and an unknown account; a fresh session on success", async (t) => {
    const wrong = await browser.submit("/signin", { email: "ada@example.com", password: "not-the-password-at-all" });
    const unknown = await browser.submit("/signin", { email: "nobody@example.com", password: GOOD_PASSWORD });
    t.equal(wrong.status, 400);
    t.equal(unknown.status, 400);
    t.match(pageText(wrong.html), "Email or password is incorrect.");
    t.match(pageText(unknown.html), "Email or password is incorrect.");
    const csrfBefore = browser.cookies.get("gpt_csrf");
    const ok = await browser.submit("/signin?next=%2Fjobs", { email: "ADA@example.com", password: GOOD_PASSWORD, next: "/jobs" });
    t.equal(ok.location, "/jobs", "back to where sign-in was asked for");
    t.not(browser.cookies.get("gpt_session"), firstSession, "a new session token");
    t.not(browser.cookies.get("gpt_csrf"), csrfBefore, "and a new CSRF cookie (nothing planted before sign-in survives)");
    const elsewhere = await new WebClient(web.url).submit("/signin", {
      email: "ada@example.com",
      password: GOOD_PASSWORD,
      next: "//evil.example/",
    });
    t.equal(elsewhere.location, "/dashboard", "never redirected to another site");
  });
});

for (const store of ["postgres", "redis"] as const) {
  t.test(`sign-in attempts are limited per email and address, per address, and per email overall (${store})`, async (t) => {
    const db = await createTestDatabase(t);
    const web = await startWeb(t, db, {
      SIGNIN_ATTEMPTS_PER_EMAIL: "3",
      SIGNIN_ATTEMPTS_PER_EMAIL_ALL_ADDRESSES: "8",
      SIGNIN_ATTEMPTS_PER_IP: "5",
      TRUST_PROXY: "true",
      ...(store === "redis" ? { REDIS_URL: testEnv.redisUrl } : {}),
    });
    // Redis is shared by every test run: fresh addresses and emails keep the counters this test's own.
    const net = `10.${randomInt(256)}.${randomInt(256)}`;
    const address = `${net}.${randomInt(1, 100)}`;
    const email = `limited-${testEnv.runId}-${randomInt(1e9)}@example.com`;
    await signUpClient(web, { email }, { "x-forwarded-for": `192.0.2.${randomInt(1, 255)}` });
    const browser = new WebClient(web.url, { "x-forwarded-for": address });
    await awayFromWindowEnd(15 * 60, 60); // the sign-in window (web/app/lib/platform.server.ts)
    for (let attempt = 1; attempt <= 3; attempt++) {
      t.equal(
        (await browser.submit("/signin", { email, password: "wrong-password-attempt" })).status,
        400,
        `attempt ${attempt} is checked`,
      );
    }
    const limited = await browser.submit("/signin", { email, password: GOOD_PASSWORD });
    t.equal(limited.status, 429, "the fourth attempt for this email from this address is refused, even with the right password");
    const wait = Number(limited.headers.get("retry-after"));
    t.ok(wait > 0 && wait <= 900, `Retry-After within the 15-minute window (${wait})`);
    t.match(pageText(limited.html), new RegExp(`Try again in ${wait} s\\.`), "the page says how long to wait");
    const owner = new WebClient(web.url, { "x-forwarded-for": `${net}.200` });
    t.equal(
      (await owner.submit("/signin", { email, password: GOOD_PASSWORD })).status,
      302,
      "a stranger's wrong passwords do not lock the owner out from their own address",
    );

    // Per address: its three misses and the refused fourth all counted, so one more is allowed,
    // then the address is cut off whatever email it tries (password spraying).
    t.equal(
      (await browser.submit("/signin", { email: `a-${email}`, password: "x-wrong-password" })).status,
      400,
      "the address's fifth attempt",
    );
    t.equal((await browser.submit("/signin", { email: `b-${email}`, password: "x-wrong-password" })).status, 429, "its sixth is refused");

    // Behind one proxy, the address is the proxy's last X-Forwarded-For entry: whatever the client
    // writes to the left of it changes nothing.
    const sprayer = `${net}.201`;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const rotating = new WebClient(web.url, { "x-forwarded-for": `203.0.113.${i + 1}, ${sprayer}` });
      statuses.push((await rotating.submit("/signin", { email: `spray-${i}-${email}`, password: "x-wrong-password" })).status);
    }
    t.same(statuses, [400, 400, 400, 400, 400, 429], "rotating the leftmost X-Forwarded-For does not escape the per-address limit");

    // Across addresses, one email still has a ceiling (high in production: 200 per 15 minutes).
    const target = `overall-${email}`;
    const overall: number[] = [];
    for (let i = 0; i < 9; i++) {
      overall.push(
        (
          await new WebClient(web.url, { "x-forwarded-for": `${net}.${210 + i}` }).submit("/signin", {
            email: target,
            password: "x-wrong-password",
          })
        ).status,
      );
    }
    t.same(overall, [400, 400, 400, 400, 400, 400, 400, 400, 429], "the ninth attempt from nine addresses is refused");
  });
}

t.test("password reset by one-time link", async (t) => {
  const db = await createTestDatabase(t);
  const web = await startWeb(t, db);
  const ada = await signUpClient(web, { email: "ada@example.com" });
  const other = new WebClient(web.url);

  const unknown = await other.submit("/forgot-password", { email: "nobody@example.com" });
  const known = await other.submit("/forgot-password", { email: "ada@example.com" });
  t.equal(unknown.status, 200);
  t.equal(pageText(unknown.html), pageText(known.html), "the same answer whether or not the account exists");
  t.notOk(
    web.logLines().some((line) => (line.mail as { to?: string } | undefined)?.to === "nobody@example.com"),
    "no mail for an unknown address",
  );
  const link = await mailedLink(web, "ada@example.com", /password/i);
  t.match(link, /^\/reset-password\/[A-Za-z0-9_-]{30,}$/);

  const weak = await other.submit(link, { password: "short" });
  t.equal(weak.status, 400, "the new password meets the same policy");
  const changed = await other.submit(link, { password: "another-Strong-passphrase-77" });
  t.equal(changed.location, "/signin?reset=1");
  t.equal((await ada.get("/dashboard")).status, 302, "every session of the account was signed out");
  t.match(pageText((await other.get(link)).html), "This link no longer works", "the link works once");
  await other.get("/forgot-password");
  const second = await other.post(link, { password: "yet-another-Strong-pass-88" });
  t.equal(second.status, 400, "and refuses a second use");
  t.match(pageText(second.html), "This link no longer works");
  t.equal(
    (await new WebClient(web.url).submit("/signin", { email: "ada@example.com", password: GOOD_PASSWORD })).status,
    400,
    "the old password is gone",
  );
  t.equal(
    (await new WebClient(web.url).submit("/signin", { email: "ada@example.com", password: "another-Strong-passphrase-77" })).location,
    "/dashboard",
  );
  t.notOk(
    web.logLines().some((line) => line.msg === "request" && String(line.path).includes(link.split("/")[2]!)),
    "request log lines never carry the reset token",
  );
});

t.test("members are invited by link with a role, and switch between organisations", async (t) => {
  const db = await createTestDatabase(t);
  const web = await startWeb(t, db);
  const owner = await signUpClient(web, { email: "owner@example.com", organisationName: "Acme" });
  const bob = await signUpClient(web, { email: "bob@example.com", organisationName: "Bob's Own" });

  const invited = await owner.submit("/members", { intent: "invite", email: "bob@example.com", role: "member" });
  t.equal(invited.status, 200, pageText(invited.html).slice(0, 300));
  const link = await mailedLink(web, "bob@example.com", /invited/);
  t.match(link, /^\/invite\//);

  const stranger = await signUpClient(web, { email: "mallory@example.com" });
  t.match(
    pageText((await stranger.get(link)).html),
    "You are signed in as mallory@example.com. Sign out and sign in as bob@example.com to accept.",
  );
  await stranger.get("/dashboard");
  const refused = await stranger.post(link, { intent: "accept" });
  t.equal(refused.status, 400, "a forwarded link is no use to another account");
  t.match(pageText(refused.html), "this invitation is for bob@example.com; sign in with that address to accept it");

  const accepted = await bob.submit(link, { intent: "accept" });
  t.equal(accepted.status, 302, pageText(accepted.html).slice(0, 300));
  const { rows } = await sql<{ name: string; role: string }>`
    SELECT o.name, m.role FROM app.memberships m JOIN app.organisations o ON o.id = m.org_id
    JOIN app.users u ON u.id = m.user_id WHERE u.email = 'bob@example.com' ORDER BY o.name`.execute(db.handles.owner);
  t.same(rows, [
    { name: "Acme", role: "member" },
    { name: "Bob's Own", role: "owner" },
  ]);

  const acme =
    rows.length === 2
      ? (await sql<{ id: string }>`SELECT id FROM app.organisations WHERE name = 'Acme'`.execute(db.handles.owner)).rows[0]!.id
      : "";
  await bob.get("/dashboard");
  const switched = await bob.post("/switch-organisation", { orgId: acme, next: "/dashboard" }, { follow: true });
  t.match(pageText(switched.html), "Acme: operations", "bob now works in Acme");
  const tokens = await bob.submit("/tokens", { name: "mine", scopes: "jobs:read", ttlDays: "7" });
  t.equal(tokens.status, 403, "a member cannot create API tokens");
  const notMine = await bob.post("/switch-organisation", {
    orgId: (await sql<{ id: string }>`SELECT id FROM app.organisations WHERE name LIKE 'Org of mallory%'`.execute(db.handles.owner))
      .rows[0]!.id,
  });
  t.equal(notMine.status, 403, "nobody switches into an organisation they do not belong to");

  const header = await bob.get("/dashboard");
  t.match(header.html, 'href="/organisations/new"', "the header offers a new organisation");
  const unnamed = await bob.submit("/organisations/new", { organisationName: "" });
  t.equal(unnamed.status, 400);
  t.match(pageText(unnamed.html), "Name your organisation.");
  const created = await bob.submit("/organisations/new", { organisationName: "Bob Labs" }, { follow: true });
  t.match(pageText(created.html), "Bob Labs: operations", "a new organisation opens on its dashboard");
  const owned = await sql<{ role: string }>`
    SELECT m.role FROM app.memberships m JOIN app.organisations o ON o.id = m.org_id
    JOIN app.users u ON u.id = m.user_id WHERE u.email = 'bob@example.com' AND o.name = 'Bob Labs'`.execute(db.handles.owner);
  t.same(owned.rows, [{ role: "owner" }], "its creator owns it");
});

t.test("an invitation page never says whether the invited address has an account", async (t) => {
  const db = await createTestDatabase(t);
  const web = await startWeb(t, db);
  const owner = await signUpClient(web, { email: "owner@example.com", organisationName: "Acme" });
  await signUpClient(web, { email: "bob@example.com", organisationName: "Bob's Own" });
  await owner.submit("/members", { intent: "invite", email: "bob@example.com", role: "member" });
  await owner.submit("/members", { intent: "invite", email: "carol@example.com", role: "admin" });
  const bobLink = await mailedLink(web, "bob@example.com", /invited/);
  const carolLink = await mailedLink(web, "carol@example.com", /invited/);
  const normalise = (html: string, email: string, role: string) =>
    pageText(html).replace(email, "<email>").replace(email, "<email>").replace(role, "<role>");

  const bobPage = await new WebClient(web.url).get(bobLink);
  const carolPage = await new WebClient(web.url).get(carolLink);
  t.equal(
    normalise(bobPage.html, "bob@example.com", "member"),
    normalise(carolPage.html, "carol@example.com", "admin"),
    "the same page for a registered and a new address",
  );

  const asBob = await new WebClient(web.url).submit(bobLink, { displayName: "Impostor", password: GOOD_PASSWORD });
  const asCarol = await new WebClient(web.url).submit(carolLink, { displayName: "Carol", password: GOOD_PASSWORD });
  t.equal(asBob.status, asCarol.status, "the same status when creating an account from either");
  t.equal(normalise(asBob.html, "bob@example.com", "member"), normalise(asCarol.html, "carol@example.com", "admin"), "and the same page");
  t.equal(await mailedLink(web, "bob@example.com", /already have/), "/signin", "bob's inbox is told to sign in instead");

  const carol = new WebClient(web.url);
  const confirmed = await carol.submit(await mailedLink(web, "carol@example.com", /Finish creating/), {});
  t.equal(confirmed.location, "/dashboard", "carol's link creates her account inside Acme");
  const { rows } = await sql<{ name: string; role: string }>`
    SELECT o.name, m.role FROM app.memberships m JOIN app.organisations o ON o.id = m.org_id
    JOIN app.users u ON u.id = m.user_id WHERE u.email = 'carol@example.com'`.execute(db.handles.owner);
  t.same(rows, [{ name: "Acme", role: "admin" }], "with the invited role, and no organisation of her own");
});

t.test("sign-in never redirects off the site, whatever next says", async (t) => {
  const db = await createTestDatabase(t);
  const web = await startWeb(t, db);
  const ada = await signUpClient(web, { email: "ada@example.com" });
  for (const next of [
    "/\t/evil.example",
    "/\n/evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "//evil.example",
    "https://evil.example",
    "/%09/evil.example\t",
  ]) {
    const signedIn = await ada.get(`/signin?next=${encodeURIComponent(next)}`);
    t.equal(signedIn.location, "/dashboard", `already signed in, next=${JSON.stringify(next)} goes home`);
    const posted = await new WebClient(web.url).submit("/signin", { email: "ada@example.com", password: GOOD_PASSWORD, next });
    t.equal(posted.location, "/dashboard", `signing in, next=${JSON.stringify(next)} goes home`);
  }
  t.equal((await ada.get("/signin?next=%2Fjobs%3Fstate%3Dfailed")).location, "/jobs?state=failed", "a path on this site is kept");
});

t.test("an older reset link stops working once a newer one was used", async (t) => {
  const db = await createTestDatabase(t);
  const web = await startWeb(t, db);
  await signUpClient(web, { email: "ada@example.com" });
  const client = new WebClient(web.url);
  await client.submit("/forgot-password", { email: "ada@example.com" });
  const older = await mailedLink(web, "ada@example.com", /password/i);
  const holder = new WebClient(web.url);
  await holder.get(older); // whoever has the older mail holds its form, still valid now
  await client.submit("/forgot-password", { email: "ada@example.com" });
  const newer = await waitFor("a second reset mail", async () => {
    const link = await mailedLink(web, "ada@example.com", /password/i);
    return link !== older ? link : undefined;
  });
  t.equal((await client.submit(newer, { password: "another-Strong-passphrase-77" })).location, "/signin?reset=1");
  const replay = await holder.post(older, { password: "attacker-Chosen-passphrase-11" });
  t.equal(replay.status, 400, "the older link is refused");
  t.match(pageText(replay.html), "This link no longer works", "and says so");
  t.equal(
    (await new WebClient(web.url).submit("/signin", { email: "ada@example.com", password: "another-Strong-passphrase-77" })).location,
    "/dashboard",
    "the new password stands",
  );
});

t.test("a CSRF token is bound to the session it was issued in", async (t) => {
  const db = await createTestDatabase(t);
  const web = await startWeb(t, db);
  const ada = await signUpClient(web, { email: "ada@example.com" });
  // An attacker who can plant a CSRF cookie (say, from a sibling subdomain) gets a token for it
  // from a session of their own, then makes the victim post it.
  const attacker = await signUpClient(web, { email: "eve@example.com" });
  await attacker.get("/tokens");
  ada.cookies.set("gpt_csrf", attacker.cookies.get("gpt_csrf")!);
  const forged = await ada.post("/tokens", { name: "planted", scopes: "jobs:read", ttlDays: "7" }, { csrf: attacker.csrfToken });
  t.equal(forged.status, 403, "refused: the token was made for another session");
  await ada.get("/tokens");
  t.equal(
    (await ada.post("/tokens", { name: "mine", scopes: "jobs:read", ttlDays: "7" })).status,
    200,
    "the victim's own form still works",
  );
});

t.test("members: only owners remove owners, the last owner stays, and a removed member's API tokens stop working", async (t) => {
  const db = await createTestDatabase(t);
  const web = await startWeb(t, db);
  const owner = await signUpClient(web, { email: "owner@example.com", organisationName: "Acme" });
  const admin = await signUpClient(web, { email: "admin@example.com" });
  await owner.submit("/members", { intent: "invite", email: "admin@example.com", role: "admin" });
  await admin.submit(await mailedLink(web, "admin@example.com", /invited/), {});
  const ids = Object.fromEntries(
    (await sql<{ email: string; id: string }>`SELECT email, id FROM app.users`.execute(db.handles.owner)).rows.map((r) => [r.email, r.id]),
  );
  const acme = (await sql<{ id: string }>`SELECT id FROM app.organisations WHERE name = 'Acme'`.execute(db.handles.owner)).rows[0]!.id;
  await admin.post("/switch-organisation", { orgId: acme, next: "/tokens" });
  await admin.get("/tokens");
  t.equal(
    (await admin.post("/tokens", { name: "admin's", scopes: "jobs:read", ttlDays: "7" })).status,
    200,
    "the admin creates an API token",
  );

  await admin.get("/members");
  const removeOwner = await admin.post("/members", { intent: "remove-member", id: ids["owner@example.com"]! });
  t.equal(removeOwner.status, 400);
  t.match(pageText(removeOwner.html), "only an owner can remove an owner");
  await owner.get("/members");
  const removeSelf = await owner.post("/members", { intent: "remove-member", id: ids["owner@example.com"]! });
  t.match(pageText(removeSelf.html), "an organisation needs at least one owner", "the last owner stays");
  const removeAdmin = await owner.post("/members", { intent: "remove-member", id: ids["admin@example.com"]! });
  t.match(pageText(removeAdmin.html), "Member removed.");
  const tokens = await sql<{
    revoked: boolean;
  }>`SELECT revoked_at IS NOT NULL AS revoked FROM app.api_tokens WHERE name = 'admin''s'`.execute(db.handles.owner);
  t.same(tokens.rows, [{ revoked: true }], "the token the admin created is revoked with the membership");
});
