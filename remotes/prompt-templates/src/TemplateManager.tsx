// The editor for one dataset: field chips, name and body, the live check and
// preview, save (a new template or a new version of the selected one), and
// the templates and versions lists. Every selection is told to the other
// remotes as "template.selected".
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import { call, type Template, type TemplateVersion } from "@augment-it/host-client";
import { shellBus } from "@augment-it/messaging";
import { Button, EmptyState, ErrorState, toast } from "@augment-it/ui-kit";
import { errorText, insertField, recordOffset, schemaSyntaxProblem, selectionOf } from "./logic";
import { TemplateList, VersionList, type Load } from "./TemplateLists";
import { useColumns, useRecordAt } from "./useDataset";
import { useLivePreview } from "./useLivePreview";

export function TemplateManager({ datasetId, datasetName }: { datasetId: number; datasetName: string }) {
  const { columns, loading: columnsLoading, error: columnsError, retry: retryColumns } = useColumns(datasetId);
  const [recordNumber, setRecordNumber] = useState("1");
  const record = useRecordAt(datasetId, recordOffset(recordNumber));
  const [name, setName] = useState("");
  const [body, setBody] = useState("");
  const live = useLivePreview(body, datasetId, record.recordId);

  const [templates, setTemplates] = useState<Load<Template[]>>({ kind: "loading" });
  const [selected, setSelected] = useState<Template | null>(null);
  const [versions, setVersions] = useState<Load<TemplateVersion[]>>({ kind: "loaded", value: [] });
  const [shownVersionId, setShownVersionId] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // The version's JSON Schema (host API 1.6.0): empty for free-text answers.
  const [schema, setSchema] = useState("");
  const schemaProblem = schemaSyntaxProblem(schema);

  const bodyRef = useRef<HTMLTextAreaElement>(null);
  const pendingCursor = useRef<number | null>(null);

  // A failed list says so in the list (with a retry), not as the failure of a save.
  const reloadTemplates = useCallback(async () => {
    try {
      setTemplates({ kind: "loaded", value: await call("list_templates") });
    } catch (err) {
      setTemplates({ kind: "failed", message: errorText(err) });
    }
  }, []);

  const loadVersions = useCallback(async (templateId: number) => {
    try {
      setVersions({ kind: "loaded", value: await call("template_versions", { templateId }) });
    } catch (err) {
      setVersions({ kind: "failed", message: errorText(err) });
    }
  }, []);

  useEffect(() => {
    void reloadTemplates();
  }, [reloadTemplates]);

  useLayoutEffect(() => {
    const cursor = pendingCursor.current;
    if (cursor === null || !bodyRef.current) return;
    pendingCursor.current = null;
    bodyRef.current.focus();
    bodyRef.current.setSelectionRange(cursor, cursor);
  }, [body]);

  function insertColumn(column: string) {
    const area = bodyRef.current;
    const next = insertField(body, column, area?.selectionStart, area?.selectionEnd);
    pendingCursor.current = next.cursor;
    setBody(next.body);
  }

  /** Runs one command-driven action with the buttons disabled and its error shown. */
  async function act(action: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  async function show(template: Template) {
    // Another template's versions are not shown while this one's are loading.
    if (template.id !== selected?.id) setVersions({ kind: "loading" });
    setSelected(template);
    setName(template.name);
    setBody(template.current.body);
    setSchema(template.current.schema ?? "");
    setShownVersionId(template.current.id);
    shellBus().emit("template.selected", selectionOf(template));
    await loadVersions(template.id);
  }

  async function save() {
    if (name.trim() === "") throw new Error("Give the template a name, then save again.");
    if (schemaProblem) throw new Error(`The schema is not JSON (${schemaProblem}): fix it or clear it, then save again.`);
    // Sent only when there is one: Rust checks it (JSON Schema, an object) and names the path of a problem.
    const withSchema = schema.trim() === "" ? {} : { schema };
    let template: Template;
    if (selected) {
      const version = await call("add_template_version", { templateId: selected.id, body, ...withSchema });
      template = await call("set_current_template_version", { templateId: selected.id, versionId: version.id });
    } else {
      template = await call("create_template", { name: name.trim(), body, ...withSchema });
    }
    await show(template);
    toast(`Saved version ${template.current.version}`, "success");
    await reloadTemplates();
  }

  async function makeCurrent(version: TemplateVersion) {
    if (!selected) return;
    const template = await call("set_current_template_version", { templateId: selected.id, versionId: version.id });
    await show(template);
    await reloadTemplates();
  }

  function startNew() {
    setSelected(null);
    setVersions({ kind: "loaded", value: [] });
    setShownVersionId(null);
    setName("");
    setBody("");
    setSchema("");
  }

  return (
    <>
      <p className="aui-muted">
        Dataset: <strong data-testid="pt-dataset">{datasetName}</strong>
      </p>
      {columnsError ? (
        <ErrorState title="Could not read the dataset's columns" detail={columnsError} onRetry={retryColumns} />
      ) : columnsLoading ? (
        <p className="aui-muted" role="status">
          Loading the dataset's fields…
        </p>
      ) : (
        columns.length === 0 && <EmptyState title="This dataset has no fields" hint="Import a document with named columns in the Record Collector to have placeholders to insert." />
      )}
      <div className="aui-toolbar" aria-label="Fields" data-testid="pt-fields">
        {columns.map((c) => (
          <button key={c.name} type="button" className="aui-button" data-column={c.name} title={`Insert {{ ${c.name} }}`} onClick={() => insertColumn(c.name)}>
            {c.name}
          </button>
        ))}
      </div>
      <div className="aui-toolbar">
        <label className="aui-field">
          <span>Template name</span>
          <input data-testid="pt-name" value={name} disabled={selected !== null} onChange={(e) => setName(e.target.value)} />
        </label>
        <label className="aui-field">
          <span>Preview record #</span>
          <input data-testid="pt-record" type="number" min={1} value={recordNumber} onChange={(e) => setRecordNumber(e.target.value)} />
        </label>
        {record.total !== null && <span className="aui-muted">of {record.total}</span>}
      </div>
      {record.error && (
        <p className="aui-field-error" role="alert">
          {record.error}
        </p>
      )}
      <label className="aui-field">
        <span>Body</span>
        <textarea ref={bodyRef} data-testid="pt-body" rows={8} value={body} onChange={(e) => setBody(e.target.value)} />
      </label>
      {live.missing.length > 0 && (
        <div className="aui-error" role="alert" data-testid="pt-missing">
          <strong>Missing fields: {live.missing.join(", ")}</strong>
          <p>{live.warning ?? "This dataset has no such columns: fix the placeholders or pick another dataset."}</p>
        </div>
      )}
      {live.checkError && <p className="aui-field-error">{live.checkError}</p>}
      <label className="aui-field">
        <span>JSON Schema of the answers (optional: providers return JSON that fits it, each answer is validated and its fields become columns)</span>
        <textarea data-testid="pt-schema" rows={5} value={schema} placeholder='{"type": "object", "properties": {"score": {"type": "integer"}}}' onChange={(e) => setSchema(e.target.value)} />
      </label>
      {schemaProblem && (
        <p className="aui-field-error" role="alert" data-testid="pt-schema-error">
          The schema is not JSON: {schemaProblem}
        </p>
      )}
      <div className="aui-toolbar">
        <Button data-testid="pt-save" variant="primary" disabled={busy} onClick={() => void act(save)}>
          {selected ? "Save new version" : "Save template"}
        </Button>
        {live.missing.length > 0 && (
          <span className="aui-muted" data-testid="pt-save-warning">
            Saving is allowed, but requests can't be generated until the missing fields are fixed.
          </span>
        )}
      </div>
      {error && <ErrorState title="The template could not be saved or loaded" detail={error} />}
      <section aria-label="Preview">
        <h2>Preview</h2>
        {live.previewError ? (
          <div className="aui-error" role="alert" data-testid="pt-preview-error">
            <strong>The template does not render</strong>
            <p>{live.previewError}</p>
          </div>
        ) : (
          <pre data-testid="pt-preview">{live.preview ?? ""}</pre>
        )}
      </section>
      <TemplateList
        templates={templates}
        selectedId={selected?.id ?? null}
        busy={busy}
        onSelect={(t) => void act(() => show(t))}
        onNew={startNew}
        onRetry={() => void reloadTemplates()}
      />
      {selected && (
        <VersionList
          versions={versions}
          currentId={selected.current.id}
          shownId={shownVersionId}
          busy={busy}
          onShow={(v) => {
            setBody(v.body);
            setSchema(v.schema ?? "");
            setShownVersionId(v.id);
          }}
          onMakeCurrent={(v) => void act(() => makeCurrent(v))}
          onRetry={() => void loadVersions(selected.id)}
        />
      )}
    </>
  );
}
