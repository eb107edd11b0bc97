// A side drawer for a value too long for its cell (a prompt, an answer),
// rendered as Markdown. Values come from records, templates and model
// answers, so none of it is trusted:
// - react-markdown builds React elements, never innerHTML; `skipHtml` drops
//   raw HTML in the text (no rehype-raw), so `<img onerror>` or `<script>`
//   never becomes an element;
// - links render as their text followed by the address, not as <a>: the
//   shell refuses any navigation away from its page anyway (webview_guard),
//   so a clickable link would only ever fail; the address stays readable;
// - images render as their alt text: fetching a URL from a model's answer
//   is a request nobody asked for (and the CSP would block it).
import { useEffect, useId, useRef, type ReactNode } from "react";
import Markdown, { type Components } from "react-markdown";

const SAFE_COMPONENTS: Components = {
  a: ({ children, href }) => (
    <span className="aui-markdown-link">
      {children}
      {href ? <span className="aui-muted"> ({href})</span> : null}
    </span>
  ),
  img: ({ alt }) => <span className="aui-muted">[image{alt ? `: ${alt}` : ""}]</span>,
};

export function SafeMarkdown({ text }: { text: string }) {
  return (
    <div className="aui-markdown">
      <Markdown skipHtml components={SAFE_COMPONENTS}>
        {text}
      </Markdown>
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
