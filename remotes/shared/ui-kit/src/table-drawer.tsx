// A side drawer for a value too long for its cell (a prompt, an answer),
// rendered as Markdown (safely: see ./markdown.tsx).
import { lazy, Suspense, useEffect, useId, useRef, type ReactNode } from "react";

// react-markdown and its parser are a large part of the UI kit, and only a
// drawer needs them: loaded the first time one opens, not at every start.
const MarkdownView = lazy(() => import("./markdown"));

/** Untrusted text as Markdown (see ./markdown.tsx); the plain text shows while the renderer loads. */
export function SafeMarkdown({ text }: { text: string }) {
  return (
    <div className="aui-markdown">
      <Suspense fallback={<p className="aui-markdown-loading">{text}</p>}>
        <MarkdownView text={text} />
      </Suspense>
    </div>
  );
}

export interface DrawerProps {
  title: string;
  onClose: () => void;
  children: ReactNode;
}

/** Non-modal: the table stays usable beside it. Focus goes to the drawer and back where it came from on close. */
export function Drawer({ title, onClose, children }: DrawerProps) {
  const titleId = useId();
  const closeButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    closeButton.current?.focus();
    return () => opener?.focus();
  }, []);
  return (
    // Escape closes a dialog (the WAI-ARIA dialog pattern); jsx-a11y counts a dialog as non-interactive.
    // eslint-disable-next-line jsx-a11y/no-noninteractive-element-interactions
    <div
      className="aui-drawer"
      role="dialog"
      aria-labelledby={titleId}
      data-testid="aui-drawer"
      onKeyDown={(event) => {
        if (event.key !== "Escape") return;
        event.stopPropagation();
        onClose();
      }}
    >
      <div className="aui-drawer-header">
        <h2 id={titleId}>{title}</h2>
        <button ref={closeButton} type="button" className="aui-button" onClick={onClose}>
          Close
        </button>
      </div>
      <div className="aui-drawer-body">{children}</div>
    </div>
  );
}
