import type { OwnerDatabase } from "../../core/db/connect.ts";
import { organisationBySlug, organisationCreate, type Organisation } from "../../core/db/organisations.ts";

export const DEMO_ORG_SLUG = "demo";

/** The organisation `npm start` prints a token for; created once, found on later starts. */
export async function ensureDemoOrganisation(db: OwnerDatabase): Promise<{ organisation: Organisation; created: boolean }> {
  const existing = await organisationBySlug(db, DEMO_ORG_SLUG);
  if (existing) return { organisation: existing, created: false };
  try {
    return { organisation: await organisationCreate(db, { name: "Demo Organisation", slug: DEMO_ORG_SLUG }), created: true };
  } catch (error) {
    // 23505: another process seeded it between our lookup and insert.
    if ((error as { code?: string }).code !== "23505") throw error;
    return { organisation: (await organisationBySlug(db, DEMO_ORG_SLUG))!, created: false };
  }
}
