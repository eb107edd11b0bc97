import { useId } from "react";

interface FieldProps {
  label: string;
  /** A message saying what is wrong and how to fix it; marks the field invalid. */
  error?: string | null;
  /** Rendered as `data-testid` on the input or select, for end-to-end tests (since 1.1.0). */
  testId?: string;
}

export function TextField({ label, error, testId, value, onChange, placeholder, type = "text", required, min }: FieldProps & {
  value: string;
  onChange: (value: string) => void;
  placeholder?: string;
  type?: "text" | "search" | "number";
  /** Since 1.1.0. */
  required?: boolean;
  /** The smallest number a `type="number"` field accepts (since 1.1.0). */
  min?: number;
}) {
  const errorId = useId();
  return (
    <label className="aui-field" data-invalid={error ? "true" : "false"}>
      <span>{label}</span>
      <input
        type={type}
        value={value}
        placeholder={placeholder}
        required={required}
        min={min}
        data-testid={testId}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? errorId : undefined}
        onChange={(event) => onChange(event.target.value)}
      />
      {error && (
        <span id={errorId} className="aui-field-error" role="alert">
          {error}
        </span>
      )}
    </label>
  );
}

export interface SelectOption {
  value: string;
  label: string;
}

export function SelectField({ label, error, testId, value, options, onChange }: FieldProps & {
  value: string;
  options: SelectOption[];
  onChange: (value: string) => void;
}) {
  return (
    <label className="aui-field" data-invalid={error ? "true" : "false"}>
      <span>{label}</span>
      <select
        value={value}
        data-testid={testId}
        aria-invalid={error ? true : undefined}
        onChange={(event) => onChange(event.target.value)}
      >
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
      {error && (
        <span className="aui-field-error" role="alert">
          {error}
        </span>
      )}
    </label>
  );
}
