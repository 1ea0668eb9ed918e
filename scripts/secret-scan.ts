// npm run secret-scan [-- <repository>]
// Scans every version of every file in a git repository's whole history (all branches and tags),
// plus the working tree's uncommitted files, with secretlint's recommended rules. A key committed
// once and deleted later is still in the history, and still found. Exit 0: nothing found;
// 1: findings (each named by path and the commit that added it); 64: not a git repository.
import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, copyFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { promisify } from "node:util";
import { ROOT_DIR } from "./lib/local-env.ts";
import { EXIT, runTool, UsageError } from "./lib/run-tool.ts";

const run = promisify(execFile);
/** Larger blobs are data, not configuration or code; none of ours comes close. */
const MAX_BLOB_BYTES = 5 * 1024 * 1024;

interface Blob {
  sha: string;
  path: string;
}

/** Every blob reachable from any ref, each once, with a path it had. */
async function historyBlobs(repo: string): Promise<Blob[]> {
  const { stdout } = await run(
    "bash",
    ["-c", "git rev-list --all --objects | git cat-file --batch-check='%(objecttype) %(objectname) %(objectsize) %(rest)'"],
    {
      cwd: repo,
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  return stdout
    .split("\n")
    .map((line) => /^blob ([0-9a-f]+) (\d+) (.+)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && Number(m[2]) <= MAX_BLOB_BYTES)
    .map((m) => ({ sha: m[1]!, path: m[3]! }));
}

/** Writes each blob to <dir>/<sha>/<path> in one streaming `git cat-file --batch`. */
async function exportBlobs(repo: string, blobs: Blob[], dir: string): Promise<void> {
  const child = spawn("git", ["cat-file", "--batch"], { cwd: repo, stdio: ["pipe", "pipe", "inherit"] });
  let buffer = Buffer.alloc(0);
  let index = 0;
  const done = new Promise<void>((resolvePromise, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const headerEnd = buffer.indexOf(10);
        if (headerEnd < 0) return;
        const size = Number(buffer.subarray(0, headerEnd).toString().split(" ")[2]);
        if (buffer.length < headerEnd + 1 + size + 1) return;
        const blob = blobs[index++]!;
        const target = join(dir, blob.sha, blob.path);
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, buffer.subarray(headerEnd + 1, headerEnd + 1 + size));
        buffer = buffer.subarray(headerEnd + 1 + size + 1);
      }
    });
    child.on("exit", (code) =>
      code === 0 && index === blobs.length
        ? resolvePromise()
        : reject(new Error(`git cat-file exited with ${code} after ${index} of ${blobs.length} blobs`)),
    );
  });
  child.stdin.end(blobs.map((b) => `${b.sha}\n`).join(""));
  await done;
}

/** The commit that first added a blob, for the report. */
async function introducedIn(repo: string, sha: string): Promise<string> {
  const { stdout } = await run("git", ["log", "--all", "--reverse", "--format=%h %ad %s", "--date=short", `--find-object=${sha}`], {
    cwd: repo,
  });
  return stdout.split("\n")[0] || "an uncommitted file";
}

await runTool("secret-scan", async () => {
  const repo = resolve(process.argv[2] ?? ROOT_DIR);
  if (!existsSync(join(repo, ".git"))) throw new UsageError(`${repo} is not a git repository (give its top directory)`);
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "secret-scan-"));
  try {
    const blobs = await historyBlobs(repo);
    const { stdout: commits } = await run("git", ["rev-list", "--all", "--count"], { cwd: repo });
    console.error(`secret-scan: exporting ${blobs.length} file versions from ${commits.trim()} commit(s)`);
    await exportBlobs(repo, blobs, dir);
    // Uncommitted files too (not ignored ones), so a key is caught before it is committed.
    const { stdout: untracked } = await run("git", ["ls-files", "--others", "--modified", "--exclude-standard"], {
      cwd: repo,
      maxBuffer: 64 * 1024 * 1024,
    });
    for (const path of untracked.split("\n").filter(Boolean)) {
      if (!existsSync(join(repo, path))) continue;
      mkdirSync(dirname(join(dir, "worktree", path)), { recursive: true });
      copyFileSync(join(repo, path), join(dir, "worktree", path));
    }

    console.error("secret-scan: scanning with secretlint (recommended rules)");
    const secretlint = join(ROOT_DIR, "node_modules/.bin/secretlint");
    const scan = await run(
      process.execPath,
      [secretlint, "**/*", "--format", "json", "--no-gitignore", "--secretlintrc", join(ROOT_DIR, ".secretlintrc.json")],
      {
        cwd: dir,
        maxBuffer: 256 * 1024 * 1024,
      },
    ).catch((error: { stdout?: string; stderr?: string }) => ({ stdout: error.stdout ?? "", stderr: error.stderr ?? "" }));
    let results: { filePath: string; messages: { ruleId: string; message: string; loc: { start: { line: number } } }[] }[];
    try {
      results = JSON.parse(scan.stdout) as typeof results;
    } catch {
      throw new Error(`secretlint did not produce a report: ${scan.stderr || scan.stdout}`);
    }
    const findings = results.filter((r) => r.messages.length > 0);
    for (const result of findings) {
      const [first, ...rest] = relative(dir, result.filePath).split("/");
      const where = first === "worktree" ? "an uncommitted file" : `commit ${await introducedIn(repo, first!)}`;
      for (const m of result.messages) console.log(`${rest.join("/")}:${m.loc.start.line} (${where}): ${m.message} [${m.ruleId}]`);
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (findings.length > 0) {
      console.log(
        `secret-scan: ${findings.reduce((n, r) => n + r.messages.length, 0)} secret(s) found in ${findings.length} file version(s) (${seconds} s).`,
      );
      console.log(
        "Revoke each one now (deleting it from the repository does not un-leak it), then rewrite the history or allow a false positive in .secretlintrc.json.",
      );
      return EXIT.failure;
    }
    console.log(`secret-scan: no secrets in ${blobs.length} file versions across the whole history (${seconds} s)`);
    return EXIT.ok;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
