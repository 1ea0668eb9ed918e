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
