import { useId } from "react";

interface FieldProps {
  label: string;
  /** A message saying what is wrong and how to fix it; marks the field invalid. */
  error?: string | null;
}

export function TextField({ label, error, value, onChange, placeholder, type = "text" }: FieldProps & {
  value: string;
  onChange: (value: string) => void;
  placeholder?: string;
  type?: "text" | "search" | "number";
}) {
  const errorId = useId();
  return (
    <label className="aui-field" data-invalid={error ? "true" : "false"}>
      <span>{label}</span>
      <input
        type={type}
        value={value}
        placeholder={placeholder}
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

export function SelectField({ label, error, value, options, onChange }: FieldProps & {
  value: string;
  options: SelectOption[];
  onChange: (value: string) => void;
}) {
  return (
    <label className="aui-field" data-invalid={error ? "true" : "false"}>
      <span>{label}</span>
      <select value={value} aria-invalid={error ? true : undefined} onChange={(event) => onChange(event.target.value)}>
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
