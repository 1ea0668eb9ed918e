/**
 * A URL path fit for a log line: the one-time tokens in reset and invitation links are secrets
 * (whoever reads the log could use them), so they are replaced.
 */
export function redactedPath(path: string): string {
  return path.replace(/^\/(reset-password|invite)\/[^/?#]+/, "/$1/[redacted]");
}
