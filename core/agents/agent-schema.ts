import { z } from "zod";

/**
 * An AI agent's settings. The web form is validated with this schema on the server, and its
 * messages are what the form shows next to each field.
 */

const checkbox = z.union([z.literal("on"), z.literal("true"), z.literal(""), z.undefined()]).transform((v) => v === "on" || v === "true");

export const agentSchema = z.object({
  name: z
    .string({ error: "Name the agent." })
    .trim()
    .min(1, { error: "Name the agent." })
    .max(100, { error: "Use at most 100 characters." }),
  model: z
    .string({ error: "Choose a model." })
    .trim()
    .regex(/^[a-z0-9][\w.-]*\/[\w.:-]+$/i, { error: "Use a model id like openai/gpt-4o-mini." })
    .max(200),
  systemPrompt: z
    .string({ error: "Write the system prompt." })
    .trim()
    .min(1, { error: "Write the system prompt." })
    .max(20_000, { error: "Keep it under 20,000 characters." }),
  temperature: z.coerce
    .number({ error: "Enter a number from 0 to 2." })
    .min(0, { error: "Enter a number from 0 to 2." })
    .max(2, { error: "Enter a number from 0 to 2." })
    .multipleOf(0.01, { error: "Use at most two decimals." }),
  maxTokens: z.coerce
    .number({ error: "Enter a whole number from 1 to 200,000." })
    .int({ error: "Enter a whole number from 1 to 200,000." })
    .min(1, { error: "Enter a whole number from 1 to 200,000." })
    .max(200_000, { error: "Enter a whole number from 1 to 200,000." }),
  knowledgeBaseEnabled: checkbox,
});

export type AgentInput = z.output<typeof agentSchema>;
