// The saved templates and the versions of the selected one, each with its
// loading line and its error (with a retry) until the shell has answered.
import { Badge, Button, EmptyState, ErrorState } from "@augment-it/ui-kit";
import type { Template, TemplateVersion } from "@augment-it/host-client";

/** A list asked of the shell: in flight, failed (in the shell's words), or its answer. */
export type Load<T> = { kind: "loading" } | { kind: "failed"; message: string } | { kind: "loaded"; value: T };

function Pending({ load, what, onRetry }: { load: Exclude<Load<unknown>, { kind: "loaded" }>; what: string; onRetry: () => void }) {
  if (load.kind === "failed") return <ErrorState title={`Could not load ${what}`} detail={load.message} onRetry={onRetry} />;
  return (
    <p className="aui-muted" role="status">
      Loading {what}…
    </p>
  );
}

export function TemplateList({ templates: load, selectedId, busy, onSelect, onNew, onRetry }: {
  templates: Load<Template[]>;
  selectedId: number | null;
  busy: boolean;
  onSelect: (template: Template) => void;
  onNew: () => void;
  onRetry: () => void;
}) {
  const templates = load.kind === "loaded" ? load.value : [];
  return (
    <section aria-label="Templates">
      <h2>Templates</h2>
      <Button data-testid="pt-new" disabled={busy || selectedId === null} onClick={onNew}>
        New template
      </Button>
      {load.kind !== "loaded" ? (
        <Pending load={load} what="templates" onRetry={onRetry} />
      ) : templates.length === 0 ? (
        <div data-testid="pt-templates">
          <EmptyState title="No templates yet" hint="Write a body and save it to create the first one." />
        </div>
      ) : (
        <ul className="pt-templates" data-testid="pt-templates">
          {templates.map((t) => (
            // A click anywhere on the item selects it; the button inside is for the keyboard and bubbles here,
            // so keyboard users have the same action (what jsx-a11y asks for).
            // eslint-disable-next-line jsx-a11y/click-events-have-key-events, jsx-a11y/no-noninteractive-element-interactions
            <li key={t.id} data-template-id={t.id} data-selected={t.id === selectedId ? "true" : "false"} onClick={() => !busy && onSelect(t)}>
              <button type="button" className="aui-button" data-variant={t.id === selectedId ? "primary" : "default"} disabled={busy}>
                {t.name} <Badge tone="neutral">v{t.current.version}</Badge>
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function VersionList({ versions: load, currentId, shownId, busy, onShow, onMakeCurrent, onRetry }: {
  versions: Load<TemplateVersion[]>;
  currentId: number;
  shownId: number | null;
  busy: boolean;
  onShow: (version: TemplateVersion) => void;
  onMakeCurrent: (version: TemplateVersion) => void;
  onRetry: () => void;
}) {
  if (load.kind !== "loaded") {
    return (
      <section aria-label="Versions">
        <h3>Versions</h3>
        <Pending load={load} what="the versions" onRetry={onRetry} />
      </section>
    );
  }
  const versions = load.value;
  return (
    <section aria-label="Versions">
      <h3>Versions</h3>
      <ul className="pt-versions" data-testid="pt-versions">
        {versions.map((v) => (
          // As above: the item's click is the mouse's convenience; its button is the keyboard's.
          // eslint-disable-next-line jsx-a11y/click-events-have-key-events, jsx-a11y/no-noninteractive-element-interactions
          <li key={v.id} data-version-id={v.id} data-current={v.id === currentId ? "true" : "false"} onClick={() => !busy && onShow(v)}>
            <button type="button" className="aui-button" data-variant={v.id === shownId ? "primary" : "default"} disabled={busy}>
              Version {v.version}
            </button>{" "}
            {v.id === currentId ? (
              <Badge tone="success">current</Badge>
            ) : (
              <Button
                data-action="make-current"
                disabled={busy}
                onClick={(e) => {
                  // Making a version current is not also a click on the item (which would load its body twice).
                  e.stopPropagation();
                  onMakeCurrent(v);
                }}
              >
                Make current
              </Button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
