/**
 * Waits until `check` returns something other than undefined/false, polling every `intervalMs`.
 * For conditions that live in another process or the database, where there is no event to await.
 * Fails with `what` and the last value seen, so a timeout says what never happened.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      last = value;
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last seen: ${String(last)}`);
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
  }
}

/**
 * Rate-limit windows are fixed and aligned to the clock, so a burst that straddles a window's end
 * is counted in two windows. Waits, when needed, so at least `marginSeconds` of the current
 * window are left before a test's burst starts.
 */
export async function awayFromWindowEnd(windowSeconds: number, marginSeconds = 5): Promise<void> {
  const left = windowSeconds - ((Date.now() / 1000) % windowSeconds);
  if (left < marginSeconds) await new Promise((resolve) => setTimeout(resolve, left * 1000 + 200));
}
