import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { ProvisionError } from "./provision.ts";

const run = promisify(execFile);

export interface DebianTool {
  /** The Debian package that provides it. */
  packageName: string;
  /** Files that must exist afterwards; the first is the one reported. */
  binaries: string[];
  /** Why the test suite needs it, for the messages. */
  purpose: string;
  /** How long an install usually takes, for the progress line. */
  installTime: string;
}

/**
 * A tool the test suite needs from Debian's packages (nothing is downloaded from npm or elsewhere):
 * found, or installed with apt-get when missing and we are root, or a message saying how to get it.
 */
export async function provisionDebianTool(tool: DebianTool, log: (line: string) => void): Promise<void> {
  const [main] = tool.binaries;
  if (tool.binaries.every((path) => existsSync(path))) {
    log(`${tool.packageName}: found ${main}`);
    return;
  }
  if (process.getuid?.() !== 0) {
    throw new ProvisionError(
      `${main} is missing and this user cannot install it: run \`sudo apt-get install -y ${tool.packageName}\` (${tool.purpose})`,
    );
  }
  log(`${tool.packageName}: installing Debian's ${tool.packageName} package for ${tool.purpose} (${tool.installTime})`);
  await run(
    "bash",
    [
      "-c",
      `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${tool.packageName} >/dev/null`,
    ],
    {
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  const missing = tool.binaries.filter((path) => !existsSync(path));
  if (missing.length > 0) throw new ProvisionError(`apt-get installed ${tool.packageName} but ${missing.join(", ")} is still missing`);
}

/** Headless Chromium for the browser tests (test/browser/), driven by playwright-core. */
export const CHROMIUM_PATH = "/usr/bin/chromium";
export const chromium: DebianTool = {
  packageName: "chromium",
  binaries: [CHROMIUM_PATH],
  purpose: "the browser tests",
  installTime: "about a minute",
};

/** promtool and Prometheus for the alert-rule tests and scripts/monitoring-local.sh (test/scripts/monitoring.test.ts). */
export const prometheus: DebianTool = {
  packageName: "prometheus",
  binaries: ["/usr/bin/promtool", "/usr/bin/prometheus"],
  purpose: "the alert-rule tests",
  installTime: "about half a minute",
};
