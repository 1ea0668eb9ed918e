import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { ProvisionError } from "./provision.ts";

const run = promisify(execFile);
export const CHROMIUM_PATH = "/usr/bin/chromium";

/**
 * Headless Chromium for the browser tests (test/browser/): Debian's chromium package, installed
 * when missing and we are root. playwright-core drives it; no browser is downloaded from npm.
 */
export async function provisionChromium(log: (line: string) => void): Promise<void> {
  if (existsSync(CHROMIUM_PATH)) {
    log(`chromium: found ${CHROMIUM_PATH}`);
    return;
  }
  if (process.getuid?.() !== 0) {
    throw new ProvisionError(`${CHROMIUM_PATH} is missing and this user cannot install it: run \`sudo apt-get install -y chromium\` (the browser tests need it)`);
  }
  log("chromium: installing Debian's chromium package for the browser tests (about a minute)");
  await run("bash", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null"], { maxBuffer: 16 * 1024 * 1024 });
  if (!existsSync(CHROMIUM_PATH)) throw new ProvisionError(`apt-get installed chromium but ${CHROMIUM_PATH} is still missing`);
}
