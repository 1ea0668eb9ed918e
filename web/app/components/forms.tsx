import { Form, useRouteLoaderData } from "@remix-run/react";

/** The hidden CSRF field every form that changes something must carry. */
export function CsrfInput() {
  const root = useRouteLoaderData<{ csrfToken: string }>("root");
  return <input type="hidden" name="_csrf" value={root?.csrfToken ?? ""} />;
}

/**
 * A one-button form that posts an intent (and the id it acts on) with its CSRF token: the shape of
 * every row action. `confirmText` asks first, for what cannot be undone.
 */
export function IntentButton({
  intent,
  id,
  label,
  className,
  confirmText,
}: {
  intent: string;
  id?: string;
  label: string;
  className?: string;
  confirmText?: string;
}) {
  const ask = confirmText
    ? (event: { preventDefault(): void }) => {
        if (!confirm(confirmText)) event.preventDefault();
      }
    : undefined;
  return (
    <Form method="post" onSubmit={ask}>
      <CsrfInput />
      <input type="hidden" name="intent" value={intent} />
      {id ? <input type="hidden" name="id" value={id} /> : null}
      <button type="submit" className={className}>
        {label}
      </button>
    </Form>
  );
}

interface FieldProps {
  name: string;
  label: string;
  type?: string;
  defaultValue?: string | number;
  error?: string;
  hint?: string;
  autoComplete?: string;
  required?: boolean;
  min?: number;
  max?: number;
  step?: number | string;
}

/** A labelled input with its hint and error wired to it for screen readers. */
export function Field({ name, label, type = "text", defaultValue, error, hint, autoComplete, required, min, max, step }: FieldProps) {
  const describedBy = [hint ? `${name}-hint` : null, error ? `${name}-error` : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className="field">
      <label htmlFor={name}>{label}</label>
      {hint ? (
        <p id={`${name}-hint`} className="hint">
          {hint}
        </p>
      ) : null}
      <input
        id={name}
        name={name}
        type={type}
        defaultValue={defaultValue}
        autoComplete={autoComplete}
        required={required}
        min={min}
        max={max}
        step={step}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
      />
      {error ? (
        <p id={`${name}-error`} className="error" role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}

export function TextArea({ name, label, defaultValue, error, hint, rows = 6 }: Omit<FieldProps, "type"> & { rows?: number }) {
  const describedBy = [hint ? `${name}-hint` : null, error ? `${name}-error` : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className="field">
      <label htmlFor={name}>{label}</label>
      {hint ? (
        <p id={`${name}-hint`} className="hint">
          {hint}
        </p>
      ) : null}
      <textarea
        id={name}
        name={name}
        rows={rows}
        defaultValue={defaultValue}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
      />
      {error ? (
        <p id={`${name}-error`} className="error" role="alert">
          {error}
        </p>
      ) : null}
    </div>
  );
}

export function FormError({ message }: { message?: string }) {
  return message ? (
    <p className="error banner" role="alert">
      {message}
    </p>
  ) : null;
}
