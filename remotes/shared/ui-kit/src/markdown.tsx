// Markdown for untrusted text (records, templates and model answers), loaded
// lazily by SafeMarkdown:
// - react-markdown builds React elements, never innerHTML; `skipHtml` drops
//   raw HTML in the text (no rehype-raw), so `<img onerror>` or `<script>`
//   never becomes an element;
// - links render as their text followed by the address, not as <a>: the
//   shell refuses any navigation away from its page anyway (webview_guard),
//   so a clickable link would only ever fail; the address stays readable;
// - images render as their alt text: fetching a URL from a model's answer
//   is a request nobody asked for (and the CSP would block it).
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

export default function MarkdownView({ text }: { text: string }) {
  return (
    <Markdown skipHtml components={SAFE_COMPONENTS}>
      {text}
    </Markdown>
  );
}
