import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import t, { type Test } from "tap";

const run = promisify(execFile);
const SCAN = fileURLToPath(new URL("../../scripts/secret-scan.ts", import.meta.url));

/** A throwaway git repository with one commit per step, each step writing or deleting files. */
async function repository(t: Test, steps: { message: string; write?: Record<string, string>; remove?: string[] }[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "gpt-secret-scan-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const git = (...args: string[]) => run("git", ["-c", "user.name=Test", "-c", "user.email=test@example.com", ...args], { cwd: dir });
  await git("init", "-q", "-b", "main");
  for (const step of steps) {
    for (const [path, content] of Object.entries(step.write ?? {})) {
      mkdirSync(join(dir, path, ".."), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    for (const path of step.remove ?? []) await git("rm", "-q", path);
    await git("add", "-A");
    await git("commit", "-q", "-m", step.message);
  }
  return dir;
}

async function scan(repo: string): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, [SCAN, repo]);
    return { code: 0, stdout };
  } catch (error) {
    const e = error as { code: number; stdout: string };
    return { code: e.code, stdout: e.stdout };
  }
}

// A real key, made for this test and thrown away: what a leaked deploy key looks like.
const privateKey = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();

t.test("a key committed once and deleted later is still found, with the commit that added it", async (t) => {
  const repo = await repository(t, [
    { message: "start", write: { "README.md": "# app\n" } },
    { message: "add deploy key", write: { "deploy/id_rsa": privateKey } },
    { message: "remove deploy key", remove: ["deploy/id_rsa"] },
  ]);
  const result = await scan(repo);
  t.equal(result.code, 1, "the build fails");
  t.match(
    result.stdout,
    /deploy\/id_rsa:1 \(commit [0-9a-f]{7} \d{4}-\d{2}-\d{2} add deploy key\): .*\[@secretlint\/secretlint-rule-privatekey\]/,
  );
  t.match(result.stdout, "secret-scan: 1 secret(s) found in 1 file version(s)");
  t.match(result.stdout, "Revoke each one now");
  t.notMatch(result.stdout, privateKey.split("\n")[1]!, "the secret itself is not printed");
});

t.test("a clean history passes; an uncommitted key is caught before it is committed", async (t) => {
  const repo = await repository(t, [
    { message: "start", write: { "README.md": "# app\n", "config.env": "DATABASE_URL=postgres://app:not-a-real-password@db:5432/app\n" } },
  ]);
  const clean = await scan(repo);
  t.equal(clean.code, 0, clean.stdout);
  t.match(clean.stdout, /no secrets in 2 file versions across the whole history/);

  writeFileSync(join(repo, "key.pem"), privateKey);
  const dirty = await scan(repo);
  t.equal(dirty.code, 1);
  t.match(dirty.stdout, "key.pem:1 (an uncommitted file)");
});

t.test("a directory that is not a repository is a usage error", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "gpt-not-a-repo-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.equal((await scan(dir)).code, 64);
});
