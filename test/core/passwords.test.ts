import { randomBytes, scryptSync } from "node:crypto";
import t from "tap";
import { HASHES_AT_ONCE, hashPassword, needsRehash, verifyPassword, withHashSlot } from "../../core/accounts/passwords.ts";

t.test("passwords are hashed at OWASP's scrypt cost, and older hashes still verify and get upgraded", async (t) => {
  const hash = await hashPassword("correct horse battery staple");
  t.match(hash, /^scrypt\$131072\$8\$1\$/, "N = 2^17, r = 8, p = 1");
  t.ok(await verifyPassword("correct horse battery staple", hash));
  t.notOk(await verifyPassword("correct horse battery stapler", hash));
  t.notOk(needsRehash(hash));

  // A hash from before this change (N = 2^15).
  const salt = randomBytes(16);
  const key = scryptSync("old password here", salt, 64, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
  const old = ["scrypt", 2 ** 15, 8, 1, salt.toString("base64"), key.toString("base64")].join("$");
  t.ok(await verifyPassword("old password here", old), "an older hash still verifies");
  t.ok(needsRehash(old), "and is upgraded at the next sign-in");
});

t.test("at most HASHES_AT_ONCE hashes run at once; the rest wait their turn", async (t) => {
  let running = 0;
  let most = 0;
  const releases: (() => void)[] = [];
  const tasks = Array.from({ length: 6 }, () =>
    withHashSlot(async () => {
      running++;
      most = Math.max(most, running);
      await new Promise<void>((resolve) => releases.push(resolve));
      running--;
    }),
  );
  // Let the queue settle, then release the running tasks one at a time.
  for (let released = 0; released < 6; released++) {
    await new Promise((r) => setImmediate(r));
    t.ok(running <= HASHES_AT_ONCE, `${running} running after ${released} finished`);
    releases.shift()!();
  }
  await Promise.all(tasks);
  t.equal(most, HASHES_AT_ONCE, `never more than ${HASHES_AT_ONCE} at once`);
});
