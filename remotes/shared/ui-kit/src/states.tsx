import type { ReactNode } from "react";
import { Button } from "./layout";

export function EmptyState({ title, hint, action }: { title: string; hint?: ReactNode; action?: ReactNode }) {
  return (
    <div className="aui-empty" data-state="empty">
      <strong>{title}</strong>
      {hint && <p>{hint}</p>}
      {action}
    </div>
  );
}

/** What went wrong, in words a person can act on, with an optional retry. */
export function ErrorState({ title, detail, onRetry }: { title: string; detail: string; onRetry?: () => void }) {
  return (
    <div className="aui-error" role="alert" data-state="error">
      <strong>{title}</strong>
      <p>{detail}</p>
      {onRetry && <Button onClick={onRetry}>Retry</Button>}
    </div>
  );
}
