import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

/**
 * Password hashing with scrypt at OWASP's recommended cost: N = 2^17, r = 8, p = 1 (memory-hard:
 * 2^17 × 8 × 128 bytes = 128 MiB per hash, about 250 ms on our machines). Stored as
 * `scrypt$N$r$p$salt$hash` (base64), so parameters can be raised later and old hashes still
 * verify; needsRehash tells when to upgrade one at the next sign-in.
 *
 * At 128 MiB each, hashes run at most HASHES_AT_ONCE at a time per process; the rest wait their
 * turn, so a burst of sign-ins (or an attacker's) cannot push the web process out of memory.
 */

const PARAMS = { N: 2 ** 17, r: 8, p: 1 } as const;
export const HASHES_AT_ONCE = 2;

let running = 0;
const waiting: (() => void)[] = [];

export async function withHashSlot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= HASHES_AT_ONCE) await new Promise<void>((resolve) => waiting.push(resolve));
  else running++;
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}
const KEY_BYTES = 64;
const SALT_BYTES = 16;

function derive(password: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { ...params, maxmem: 128 * params.N * params.r * 2 };
  return withHashSlot(
    () =>
      new Promise((resolve, reject) =>
        scrypt(password.normalize("NFKC"), salt, KEY_BYTES, options, (error, key) => (error ? reject(error) : resolve(key))),
      ),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, PARAMS);
  return ["scrypt", PARAMS.N, PARAMS.r, PARAMS.p, salt.toString("base64"), key.toString("base64")].join("$");
}

export async function verifyPassword(password: string, stored: string | null | undefined): Promise<boolean> {
  const parts = stored?.split("$");
  if (parts?.length !== 6 || parts[0] !== "scrypt") {
    // Spend the same time as a real check, so response timing does not reveal unknown accounts.
    await derive(password, randomBytes(SALT_BYTES), PARAMS);
    return false;
  }
  const [, N, r, p, salt, hash] = parts;
  const expected = Buffer.from(hash!, "base64");
  const actual = await derive(password, Buffer.from(salt!, "base64"), { N: Number(N), r: Number(r), p: Number(p) });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export function needsRehash(stored: string): boolean {
  const [, N, r, p] = stored.split("$");
  return Number(N) !== PARAMS.N || Number(r) !== PARAMS.r || Number(p) !== PARAMS.p;
}
