import { createHash } from "node:crypto";

/** Fixed namespace for job ids derived from idempotency keys (a random UUID, chosen once). */
const JOB_ID_NAMESPACE = "3f1c2b9e-6d0a-4c55-9b7e-2a8e5d41c7f0";

/**
 * The job id for an idempotency key: a UUIDv5 of (organisation, job type, key). The same key sent
 * twice yields the same id, and pg-boss's insert skips a row whose id already exists, so the
 * second send becomes a no-op that reports the first job, with no lookup table and no race.
 * Keys are scoped per organisation and type, so tenants cannot collide with each other.
 */
export function jobIdForIdempotencyKey(orgId: string, type: string, key: string): string {
  const namespace = Buffer.from(JOB_ID_NAMESPACE.replaceAll("-", ""), "hex");
  const hash = createHash("sha1").update(namespace).update(`${orgId}\u0000${type}\u0000${key}`).digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50; // version 5
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
