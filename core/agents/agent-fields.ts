/** Agent form constants the browser needs too; kept apart from the zod schema so the page bundle stays small. */

/** Models offered in the form; any OpenRouter model id of the same shape is accepted. */
export const SUGGESTED_MODELS = [
  "openai/gpt-4o-mini",
  "openai/gpt-4o",
  "anthropic/claude-3.5-sonnet",
  "meta-llama/llama-3.1-70b-instruct",
] as const;

export const AGENT_FIELDS = ["name", "model", "systemPrompt", "temperature", "maxTokens", "knowledgeBaseEnabled"] as const;
