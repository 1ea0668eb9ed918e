import type { OwnerDatabase, OwnerHandle } from "../db/connect.ts";

export interface Organisation {
  id: string;
  name: string;
  slug: string;
  createdAt: Date;
}

/**
 * Creates an organisation as the owner: sign-up and seeding create organisations before anyone is
 * scoped to them, which row-level security would otherwise refuse.
 */
export async function organisationCreate(db: OwnerHandle, input: { name: string; slug: string }): Promise<Organisation> {
  const row = await db
    .insertInto("app.organisations")
    .values({ name: input.name, slug: input.slug })
    .returning(["id", "name", "slug", "created_at"])
    .executeTakeFirstOrThrow();
  return { id: row.id, name: row.name, slug: row.slug, createdAt: row.created_at };
}

/** Operator lookup across organisations (seed, token tool). */
export async function organisationBySlug(db: OwnerDatabase, slug: string): Promise<Organisation | undefined> {
  const row = await db
    .selectFrom("app.organisations")
    .select(["id", "name", "slug", "created_at"])
    .where("slug", "=", slug)
    .executeTakeFirst();
  return row && { id: row.id, name: row.name, slug: row.slug, createdAt: row.created_at };
}

/**
 * A new organisation with `ownerId` as its owner, in the caller's owner transaction: the one way an
 * organisation comes to exist with someone in it (sign-up, "new organisation", the local demo).
 */
export async function organisationCreateWithOwner(
  trx: OwnerHandle,
  input: { name: string; slug: string; ownerId: string },
): Promise<Organisation> {
  const organisation = await organisationCreate(trx, { name: input.name, slug: input.slug });
  await trx.insertInto("app.memberships").values({ org_id: organisation.id, user_id: input.ownerId, role: "owner" }).execute();
  return organisation;
}
