/**
 * Removes what looks like a credential from free text: error messages and stacks written by
 * handlers and libraries, which may quote a connection string, a header or an upstream response.
 * Field names are redacted by the logger's paths; this covers secrets inside text.
 */
const PATTERNS: [RegExp, string][] = [
  // scheme://user:password@host
  [/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi, "$1[redacted]@"],
  // Authorization: Bearer <token> / Basic <credentials>
  [/\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/=-]{8,}/g, "$1$2[redacted]"],
  // JSON Web Tokens
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, "[redacted jwt]"],
  // API keys with well-known prefixes (OpenRouter/OpenAI sk-..., AWS access keys)
  [/\bsk-[A-Za-z0-9_-]{16,}/g, "[redacted key]"],
  [/\bAKIA[0-9A-Z]{16}\b/g, "[redacted key]"],
  // password=..., "api_key": "...", token: ...
  [
    /\b((?:password|passwd|pwd|secret|client[_-]?secret|token|access[_-]?token|refresh[_-]?token|api[_-]?key|authorization)["']?\s*[:=]\s*["']?)[^\s"',;&}]+/gi,
    "$1[redacted]",
  ],
];

export function scrubSecrets(text: string): string {
  let result = text;
  for (const [pattern, replacement] of PATTERNS) result = result.replace(pattern, replacement);
  return result;
}
