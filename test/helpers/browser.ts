import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import type { Test } from "tap";
import { CHROMIUM_PATH as CHROMIUM } from "../../scripts/lib/debian-package.ts";

const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts/screens/", import.meta.url));

/** Headless Chromium for this test, closed at teardown. */
export async function launchBrowser(t: Test): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium), or run npm test as root so it does`,
    );
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // No sandbox: CI runs as root in a container, where Chromium's sandbox cannot start.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--no-first-run"],
  });
  t.teardown(() => browser.close());
  return browser;
}

/** Saves a full-page screenshot as test-artifacts/screens/<name>.png (git ignores the folder). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS}${name}.png`, fullPage: true });
}

/**
 * Collects what the page reports as errors (CSP violations, failed hydration, uncaught
 * exceptions), so a test can require that there were none.
 */
export function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  return errors;
}
