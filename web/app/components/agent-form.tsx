import { Form } from "@remix-run/react";
import { SUGGESTED_MODELS } from "../../../core/agents/agent-fields.ts";
import { CsrfInput, Field, TextArea } from "./forms.tsx";

export interface AgentFormValues {
  name?: string;
  model?: string;
  systemPrompt?: string;
  temperature?: number | string;
  maxTokens?: number | string;
  knowledgeBaseEnabled?: boolean;
}

/** The agent form, for creating and editing; field errors come from the server's schema check. */
export function AgentForm({
  values,
  errors,
  submitLabel,
}: {
  values: AgentFormValues;
  errors: Record<string, string>;
  submitLabel: string;
}) {
  return (
    <Form method="post" noValidate>
      <CsrfInput />
      <input type="hidden" name="intent" value="save" />
      <Field name="name" label="Name" defaultValue={values.name} error={errors.name} required />
      <div className="field">
        <label htmlFor="model">Model</label>
        <p id="model-hint" className="hint">
          An OpenRouter model id.
        </p>
        <input
          id="model"
          name="model"
          list="models"
          defaultValue={values.model ?? SUGGESTED_MODELS[0]}
          aria-describedby={errors.model ? "model-hint model-error" : "model-hint"}
          aria-invalid={errors.model ? true : undefined}
        />
        <datalist id="models">
          {SUGGESTED_MODELS.map((m) => (
            <option key={m} value={m} />
          ))}
        </datalist>
        {errors.model ? (
          <p id="model-error" className="error" role="alert">
            {errors.model}
          </p>
        ) : null}
      </div>
      <TextArea
        name="systemPrompt"
        label="System prompt"
        defaultValue={values.systemPrompt}
        error={errors.systemPrompt}
        hint="How the agent should behave."
      />
      <Field
        name="temperature"
        label="Temperature"
        type="number"
        min={0}
        max={2}
        step="0.01"
        defaultValue={values.temperature ?? 0.7}
        error={errors.temperature}
        hint="0 is focused, 2 is inventive."
      />
      <Field
        name="maxTokens"
        label="Max tokens"
        type="number"
        min={1}
        max={200000}
        defaultValue={values.maxTokens ?? 1024}
        error={errors.maxTokens}
      />
      <div className="field">
        <input
          id="knowledgeBaseEnabled"
          name="knowledgeBaseEnabled"
          type="checkbox"
          defaultChecked={values.knowledgeBaseEnabled ?? false}
        />{" "}
        <label htmlFor="knowledgeBaseEnabled" className="inline">
          Answer from the knowledge base
        </label>
      </div>
      <button type="submit">{submitLabel}</button>
    </Form>
  );
}
