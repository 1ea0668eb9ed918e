import { SIGNUP_LINK_LIFETIME_HOURS } from "../../../core/accounts/constants.ts";
import { normaliseEmail, signupRequestCreate, type SignupRequestInput } from "./core.server.ts";
import { getPlatform } from "./platform.server.ts";

/**
 * Asks for an account (sign-up, or joining by invitation) the one way that reveals nothing about the
 * address: the page always says "check your inbox", and the inbox gets either the link that finishes
 * the account or a note that the address already has one. `inviteLink` is where an invitee who
 * already has an account goes after signing in.
 */
export async function requestAccountByMail(
  input: SignupRequestInput,
  what: { organisationName: string; inviteLink?: string },
): Promise<void> {
  const { config, db, mailer } = await getPlatform();
  const result = await signupRequestCreate(db.owner, input);
  const url = (path: string) => new URL(path, config.WEB_PUBLIC_URL).toString();
  // The address as the account will store it, as every later mail (resets, invitations) writes it.
  const to = normaliseEmail(input.email);
  if ("token" in result) {
    await mailer.send({
      to,
      subject: "Finish creating your GPT Agent Platform account",
      text:
        `Open this link within ${SIGNUP_LINK_LIFETIME_HOURS} hours to finish creating your account` +
        `${input.invitationId ? ` and join ${what.organisationName}` : ` and the organisation ${what.organisationName}`}:\n\n` +
        `${url(`/signup/confirm/${result.token}`)}\n\nIf you did not ask for an account, ignore this message.`,
    });
    return;
  }
  await mailer.send({
    to,
    subject: "You already have a GPT Agent Platform account",
    text:
      "Someone, perhaps you, asked to create an account with this address, which already has one. Nothing was changed.\n\n" +
      (what.inviteLink
        ? `Sign in, then open your invitation again: ${url("/signin")} then ${what.inviteLink}\n`
        : `Sign in: ${url("/signin")}\n`) +
      `Forgot your password? ${url("/forgot-password")}`,
  });
}
