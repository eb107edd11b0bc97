import type { ButtonHTMLAttributes, ReactNode } from "react";

export function Page({ title, actions, children }: { title: string; actions?: ReactNode; children: ReactNode }) {
  return (
    <div className="aui-page">
      <header className="aui-page-header">
        <h1>{title}</h1>
        {actions}
      </header>
      {children}
    </div>
  );
}

export function Toolbar({ children }: { children: ReactNode }) {
  return <div className="aui-toolbar">{children}</div>;
}

export function StatRow({ children }: { children: ReactNode }) {
  return <div className="aui-stat-row">{children}</div>;
}

export function Stat({ label, value }: { label: string; value: ReactNode }) {
  return (
    <div className="aui-stat" data-stat={label}>
      <div className="aui-stat-label">{label}</div>
      <div className="aui-stat-value">{value}</div>
    </div>
  );
}

export function Button({ variant, ...props }: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: "primary" | "default" }) {
  return <button type="button" className="aui-button" data-variant={variant ?? "default"} {...props} />;
}

export type BadgeTone = "success" | "warning" | "danger" | "neutral";

export function Badge({ tone, children, title }: { tone: BadgeTone; children: ReactNode; title?: string }) {
  return (
    <span className="aui-badge" data-tone={tone} title={title}>
      {children}
    </span>
  );
}
