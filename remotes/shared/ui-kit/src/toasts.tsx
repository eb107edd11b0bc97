// Toasts live in one store inside this (singleton) module, so any remote can
// raise one and the single <Toaster/> the page renders shows them all.
import { useEffect, useSyncExternalStore } from "react";

export type ToastTone = "info" | "success" | "danger";

/** A button on a toast, e.g. Undo; clicking it runs `run` and dismisses the toast. */
export interface ToastAction {
  label: string;
  run: () => void;
}

export interface Toast {
  id: number;
  text: string;
  tone: ToastTone;
  action?: ToastAction;
}

const AUTO_DISMISS_MS = 6000;
let toasts: Toast[] = [];
let nextId = 1;
const listeners = new Set<() => void>();

function publish(next: Toast[]) {
  toasts = next;
  listeners.forEach((listener) => listener());
}

/** Shows a toast and returns its id; at most five are kept. Since 1.2.0 a toast may carry an action (Undo). */
export function toast(text: string, tone: ToastTone = "info", options: { action?: ToastAction } = {}): number {
  const id = nextId++;
  publish([...toasts.slice(-4), { id, text, tone, action: options.action }]);
  return id;
}

export function dismissToast(id: number) {
  publish(toasts.filter((t) => t.id !== id));
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useToasts(): Toast[] {
  return useSyncExternalStore(subscribe, () => toasts, () => toasts);
}

export function Toaster({ autoDismissMs = AUTO_DISMISS_MS }: { autoDismissMs?: number }) {
  const list = useToasts();
  return (
    <div className="aui-toaster" aria-live="polite">
      {list.map((t) => (
        <ToastItem key={t.id} toast={t} autoDismissMs={autoDismissMs} />
      ))}
    </div>
  );
}

function ToastItem({ toast: t, autoDismissMs }: { toast: Toast; autoDismissMs: number }) {
  useEffect(() => {
    if (autoDismissMs <= 0) return;
    const timer = setTimeout(() => dismissToast(t.id), autoDismissMs);
    return () => clearTimeout(timer);
  }, [t.id, autoDismissMs]);
  return (
    <div className="aui-toast" role="status" data-tone={t.tone}>
      <p>{t.text}</p>
      {t.action && (
        <button
          type="button"
          className="aui-toast-action"
          onClick={() => {
            dismissToast(t.id);
            t.action?.run();
          }}
        >
          {t.action.label}
        </button>
      )}
      <button type="button" aria-label="Dismiss" onClick={() => dismissToast(t.id)}>
        ×
      </button>
    </div>
  );
}
