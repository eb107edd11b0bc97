// A labelled input or select carrying a data-testid (the UI kit's fields take
// none); same look as the kit through its `aui-field` class.
import type { InputHTMLAttributes, ReactNode, SelectHTMLAttributes } from "react";

export function InputField({ label, testId, ...props }: { label: string; testId?: string } & InputHTMLAttributes<HTMLInputElement>) {
  return (
    <label className="aui-field">
      <span>{label}</span>
      <input data-testid={testId} {...props} />
    </label>
  );
}

export function SelectBox({
  label,
  testId,
  children,
  ...props
}: { label: string; testId?: string; children: ReactNode } & SelectHTMLAttributes<HTMLSelectElement>) {
  return (
    <label className="aui-field">
      <span>{label}</span>
      <select data-testid={testId} {...props}>
        {children}
      </select>
    </label>
  );
}
