import { randomBytes } from "node:crypto";
import t from "tap";
import { DEMO_EMAIL, ensureDemoOrganisation, ensureDemoUser } from "../../scripts/lib/demo.ts";
import { createTestDatabase } from "../helpers/database.ts";
import { pageText, WebClient } from "../helpers/web-client.ts";
import { startWeb } from "../helpers/web-process.ts";

t.test("npm start's demo user signs in to the demo organisation with the generated password", async (t) => {
  const db = await createTestDatabase(t);
  const { owner } = db.handles;
  const { organisation } = await ensureDemoOrganisation(owner);
  // The shape scripts/lib/local-env.ts generates into .data/local.env.
  const password = `demo-${randomBytes(9).toString("base64url")}`;
  t.same(await ensureDemoUser(owner, organisation.id, password), { created: true });
  t.same(
    await ensureDemoUser(owner, organisation.id, "a-different-password-entirely"),
    { created: false },
    "a later start keeps the password",
  );
  t.same((await ensureDemoOrganisation(owner)).created, false, "and the organisation");

  const web = await startWeb(t, db);
  const browser = new WebClient(web.url);
  const signedIn = await browser.submit("/signin", { email: DEMO_EMAIL, password });
  t.equal(signedIn.status, 302, pageText(signedIn.html).slice(0, 300));
  const dashboard = await browser.get(signedIn.location!);
  t.match(pageText(dashboard.html), "Demo Organisation: operations", "the dashboard of the demo organisation");
  t.equal(
    (await new WebClient(web.url).submit("/signin", { email: DEMO_EMAIL, password: "a-different-password-entirely" })).status,
    400,
    "the second password was never set",
  );
});
