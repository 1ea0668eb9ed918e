/** Account limits that pages show as well as enforce; no server-only imports, so the browser bundle can use it. */
export const RESET_LIFETIME_MINUTES = 60;
export const INVITATION_LIFETIME_DAYS = 7;
export const SESSION_LIFETIME_DAYS = 30;
export const SIGNUP_LINK_LIFETIME_HOURS = 24;
