/**
 * The server-side parts of core/ that routes use, re-exported from a .server module: Remix's Vite
 * plugin guarantees .server modules never reach the browser bundle, so routes import these from
 * here rather than from core/ directly (types may still come from core/ with `import type`).
 */
export {
  acceptInvitationSchema,
  forgotPasswordSchema,
  inviteSchema,
  organisationSchema,
  resetPasswordSchema,
  signInSchema,
  signUpSchema,
} from "../../../core/accounts/account-schemas.ts";
export {
  invitationAccept,
  invitationByToken,
  invitationCreate,
  InvitationInvalidError,
  invitationRevoke,
  invitationsList,
} from "../../../core/accounts/invitations.ts";
export { LastOwnerError, memberRemove, membersList, OwnerOnlyError } from "../../../core/accounts/members.ts";
export {
  passwordResetComplete,
  passwordResetIsValid,
  passwordResetRequest,
  ResetTokenInvalidError,
} from "../../../core/accounts/password-resets.ts";
export { needsRehash, verifyPassword } from "../../../core/accounts/passwords.ts";
export { sessionRevoke, sessionSwitchOrg } from "../../../core/accounts/sessions.ts";
export { AccountExistsError, membershipsOfUser, normaliseEmail, setPassword, slugFor, userByEmail } from "../../../core/accounts/users.ts";
export {
  SignupLinkInvalidError,
  signupRequestByToken,
  signupRequestComplete,
  signupRequestCreate,
  type SignupRequestInput,
} from "../../../core/accounts/signup-requests.ts";
export { agentSchema } from "../../../core/agents/agent-schema.ts";
export {
  agentCreate,
  agentDelete,
  agentGet,
  AgentNameTakenError,
  agentSetStatus,
  agentsList,
  agentUpdate,
} from "../../../core/agents/agents.ts";
export { apiTokenCreate, apiTokenRevoke, apiTokensList } from "../../../core/auth/api-tokens.ts";
export { isUuid } from "../../../core/db/org-scope.ts";
export { organisationCreateWithOwner } from "../../../core/accounts/organisations.ts";
export { findJobType, jobTypeNames } from "../../../core/jobs/catalogue.ts";
export { PayloadInvalidError, QuotaExceededError } from "../../../core/jobs/errors.ts";
export { dashboardRead } from "../../../core/jobs/insights.ts";
export { cancelJob, JobActionError, retryDeadLetter, retryDeadLettersOfType, retryJob } from "../../../core/jobs/job-actions.ts";
export { failedAttemptsOfJob } from "../../../core/jobs/job-attempts.ts";
export { attemptsStarted, jobGetForOrg, jobListForOrg, JobSearchTooSlowError, outputIsError } from "../../../core/jobs/job-queries.ts";
export { snoozesOfJob } from "../../../core/jobs/job-snoozes.ts";
export { queuePauseForOrg, queuePausesForOrg, queueResume } from "../../../core/jobs/queue-pauses.ts";
export { jobTimeline } from "../../../core/jobs/job-timeline.ts";
export { plansList, subscriptionOfOrg } from "../../../core/plans/subscription.ts";
export { OPERATOR_PAGE_SIZE, organisationPlans, PlanAssignmentError, planAssign } from "../../../core/plans/operator-plans.ts";
