import { z } from "zod";
import { passwordProblems, PASSWORD_MAX_LENGTH } from "./password-policy.ts";

/** The account forms' rules, used by the web app's actions to validate and to explain each field. */

const email = z
  .string({ error: "Enter your email address." })
  .trim()
  .min(3, { error: "Enter your email address." })
  .max(320, { error: "That email address is too long." })
  .regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, { error: "Enter an email address like name@example.com." });

const displayName = z
  .string({ error: "Enter your name." })
  .trim()
  .min(1, { error: "Enter your name." })
  .max(200, { error: "Use at most 200 characters." });

const organisationName = z
  .string({ error: "Name your organisation." })
  .trim()
  .min(1, { error: "Name your organisation." })
  .max(200, { error: "Use at most 200 characters." });

/** Adds the new-password check (length, breached lists, guessability with the user's own words). */
function withPasswordCheck<S extends z.ZodObject>(schema: S, personal: (values: Record<string, unknown>) => string[]): S {
  return schema.superRefine((values, ctx) => {
    const password = String((values as Record<string, unknown>).password ?? "");
    const problems = passwordProblems(password, personal(values as Record<string, unknown>));
    if (problems.length > 0) ctx.addIssue({ code: "custom", path: ["password"], message: problems.join(" ") });
  }) as S;
}

export const signUpSchema = withPasswordCheck(
  z.object({
    displayName,
    email,
    organisationName,
    password: z
      .string({ error: "Choose a password." })
      .max(PASSWORD_MAX_LENGTH, { error: `Use at most ${PASSWORD_MAX_LENGTH} characters.` }),
  }),
  (v) => [String(v.email ?? ""), String(v.displayName ?? ""), String(v.organisationName ?? "")],
);

export const signInSchema = z.object({
  email,
  password: z.string({ error: "Enter your password." }).min(1, { error: "Enter your password." }).max(PASSWORD_MAX_LENGTH),
});

export const forgotPasswordSchema = z.object({ email });

export const resetPasswordSchema = withPasswordCheck(
  z.object({ password: z.string({ error: "Choose a password." }).max(PASSWORD_MAX_LENGTH) }),
  () => [],
);

export const acceptInvitationSchema = withPasswordCheck(
  z.object({ displayName, password: z.string({ error: "Choose a password." }).max(PASSWORD_MAX_LENGTH) }),
  (v) => [String(v.displayName ?? "")],
);

export const inviteSchema = z.object({
  email,
  role: z.enum(["owner", "admin", "member"], { error: "Choose a role." }),
});

export const organisationSchema = z.object({ organisationName });
