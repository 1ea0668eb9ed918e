import { ZxcvbnFactory } from "@zxcvbn-ts/core";
import * as common from "@zxcvbn-ts/language-common";
import * as english from "@zxcvbn-ts/language-en";

/**
 * What a new password must be: at least 12 characters, not one of the ~49,000 passwords seen most
 * often in public breach corpora (@zxcvbn-ts/language-common, a maintained list), and hard to
 * guess by zxcvbn's estimate (score 3 of 4), taking the user's own name and email into account.
 * Every problem comes back as a sentence the form can show.
 */

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

const breached = new Set(common.dictionary["passwords-common"].map((p: string) => p.toLowerCase()));
const estimator = new ZxcvbnFactory({
  translations: english.translations,
  graphs: common.adjacencyGraphs,
  dictionary: { ...common.dictionary, ...english.dictionary },
});

/** Problems with `password`; empty when it is acceptable. `personal` are the user's own words (email, name). */
export function passwordProblems(password: string, personal: readonly string[] = []): string[] {
  if (password.length < PASSWORD_MIN_LENGTH) return [`Use at least ${PASSWORD_MIN_LENGTH} characters (this one has ${password.length}).`];
  if (password.length > PASSWORD_MAX_LENGTH) return [`Use at most ${PASSWORD_MAX_LENGTH} characters.`];
  if (breached.has(password.toLowerCase())) {
    return ["This password appears in public lists of breached passwords, so attackers try it first. Choose another."];
  }
  const words = personal.flatMap((p) => p.toLowerCase().split(/[^a-z0-9]+/)).filter((w) => w.length >= 3);
  if (madeOfPersonalWords(password, words)) {
    return [
      "This password is built from your name, email or organisation, which anyone who knows you would try. Choose something unrelated.",
    ];
  }
  const result = estimator.check(password, words);
  if (result.score >= 3) return [];
  const warning = result.feedback.warning ?? "This password would be easy to guess.";
  return [[warning, ...result.feedback.suggestions].join(" ")];
}

/**
 * Whether the password is little more than the user's own words joined with digits and symbols
 * ("adalovelace-analytical"). zxcvbn finds each word but prices every separator as brute force,
 * so such passwords can still score well there.
 */
function madeOfPersonalWords(password: string, words: readonly string[]): boolean {
  const lower = password.toLowerCase();
  let rest = lower;
  for (const word of [...words].sort((a, b) => b.length - a.length)) rest = rest.split(word).join("");
  return rest !== lower && rest.replace(/[^a-z]/g, "").length < 4;
}
