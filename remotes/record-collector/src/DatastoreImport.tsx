// "Import from a data store": choose a saved connection to a NocoDB,
// Airtable or Databricks table or add one (its token goes to the OS keychain
// through the shell and is never shown again), preview the table's columns
// with the types inferred from its rows, choose which columns to keep and
// under which names, and import. The new dataset joins the list as a file
// import's does.
import { useCallback, useEffect, useId, useState } from "react";
import { datastores, type Dataset, type DatastoreConnection, type DatastoreKind, type DatastorePreview, type DatastoreSource } from "@augment-it/host-client";
import { Badge, Button, SelectField, TextField, toast } from "@augment-it/ui-kit";
import {
  credentialLabel,
  emptyForm,
  FIELDS,
  formFromSource,
  initialMapping,
  KINDS,
  mappingErrors,
  mappingProblem,
  mappingRequest,
  sampleText,
  sourceFromForm,
  sourceSummary,
  type ConnectionForm,
  type MappedColumn,
  type TokenKind,
} from "./datastore-logic";
import { errorText } from "./logic";

/** Rows the preview reads (the shell's most, datastore-sync's PREVIEW_ROWS): one request on every service. */
const PREVIEW_ROWS = 20;
/** The select's value for "add a connection". */
const NEW = "";

type Busy = null | "saving" | "deleting" | "previewing" | "importing";

/** What failed, as the error's heading says it. */
const FAILED: Record<Exclude<Busy, null>, string> = {
  saving: "Could not save the connection",
  deleting: "Could not delete the connection",
  previewing: "Could not preview the table",
  importing: "Could not import the table",
};

const BUSY_TEXT: Record<Exclude<Busy, null>, string> = {
  saving: "Saving the connection…",
  deleting: "Deleting the connection…",
  previewing: "Reading the first rows…",
  importing: "Importing every row, page by page…",
};

export function DatastoreImport({ onImported }: { onImported: (dataset: Dataset) => void }) {
  // null until listed: the form waits for the shell's answer.
  const [connections, setConnections] = useState<DatastoreConnection[] | null>(null);
  const [chosen, setChosen] = useState<string>(NEW);
  const [editing, setEditing] = useState(false);
  const [busy, setBusy] = useState<Busy>(null);
  const [error, setError] = useState<{ title: string; detail: string } | null>(null);
  const [preview, setPreview] = useState<{ connection: string; data: DatastorePreview } | null>(null);
  const [mapping, setMapping] = useState<MappedColumn[]>([]);
  const [datasetName, setDatasetName] = useState("");
  const [nameError, setNameError] = useState<string | null>(null);
  // Deleting removes the token from the keychain too: one more click to be sure.
  const [confirmingDelete, setConfirmingDelete] = useState(false);

  const reload = useCallback(async (select?: string) => {
    try {
      const list = await datastores.list();
      setConnections(list);
      setChosen((current) => select ?? (list.some((c) => c.name === current) ? current : (list[0]?.name ?? NEW)));
    } catch (err) {
      setConnections([]);
      setError({ title: "Could not list the saved connections", detail: errorText(err) });
    }
  }, []);

  useEffect(() => {
    void reload();
  }, [reload]);

  const connection = connections?.find((c) => c.name === chosen) ?? null;
  const showForm = connections !== null && (connection === null || editing);

  function choose(name: string) {
    setChosen(name);
    setEditing(false);
    setConfirmingDelete(false);
    setError(null);
    setPreview(null);
  }

  async function attempt<T>(what: Exclude<Busy, null>, action: () => Promise<T>): Promise<T | undefined> {
    setBusy(what);
    setError(null);
    try {
      return await action();
    } catch (err) {
      setError({ title: FAILED[what], detail: errorText(err) });
      return undefined;
    } finally {
      setBusy(null);
    }
  }

  async function saved(saved: DatastoreConnection) {
    setEditing(false);
    setPreview(null);
    toast(`Saved the connection "${saved.name}"`, "success");
    await reload(saved.name);
  }

  async function remove(name: string) {
    setConfirmingDelete(false);
    const done = await attempt("deleting", () => datastores.remove(name));
    if (done === undefined) return;
    toast(`Deleted the connection "${name}"; its token was removed from the keychain`, "info");
    setPreview(null);
    await reload();
  }

  async function loadPreview(name: string) {
    const data = await attempt("previewing", () => datastores.preview(name, PREVIEW_ROWS));
    if (!data) return;
    setPreview({ connection: name, data });
    setMapping(initialMapping(data));
    setDatasetName((current) => current || name);
    setNameError(null);
  }

  const errors = mappingErrors(mapping);
  const problem = mappingProblem(mapping);
  const mappingOk = Object.keys(errors).length === 0 && problem === null;

  async function runImport() {
    if (!preview) return;
    if (datasetName.trim() === "") {
      setNameError("Name the dataset, then import again");
      return;
    }
    if (!mappingOk) return;
    const dataset = await attempt("importing", () => datastores.import(preview.connection, datasetName.trim(), mappingRequest(mapping)));
    if (!dataset) return;
    toast(`Imported "${dataset.name}" with ${dataset.row_count} rows from ${preview.connection}`, "success");
    setPreview(null);
    setDatasetName("");
    onImported(dataset);
  }

  return (
    <section className="rc-datastore" aria-label="Import from a data store" aria-busy={busy !== null} data-testid="ds-import">
      <h2>Import from a data store</h2>
      {connections === null ? (
        <p className="aui-muted" role="status">
          Loading the saved connections…
        </p>
      ) : (
        <div className="aui-toolbar">
          <SelectField
            label="Connection"
            testId="ds-connection"
            value={chosen}
            options={[...connections.map((c) => ({ value: c.name, label: `${c.name} (${c.kind})` })), { value: NEW, label: "Add a connection…" }]}
            onChange={choose}
          />
          {connection && !editing && (
            <>
              <span data-testid="ds-summary">{sourceSummary(connection.source)}</span>
              {connection.hasCredential ? (
                <Badge tone="success">token in the keychain</Badge>
              ) : (
                <Badge tone="warning" title="Edit the connection to add its token">
                  no token saved
                </Badge>
              )}
              <Button data-testid="ds-edit" disabled={busy !== null} onClick={() => setEditing(true)}>
                Edit
              </Button>
              {confirmingDelete ? (
                <>
                  <Button data-testid="ds-confirm-delete" disabled={busy !== null} onClick={() => void remove(connection.name)}>
                    Delete {connection.name} and its token
                  </Button>
                  <Button disabled={busy !== null} onClick={() => setConfirmingDelete(false)}>
                    Cancel
                  </Button>
                </>
              ) : (
                <Button data-testid="ds-delete" disabled={busy !== null} onClick={() => setConfirmingDelete(true)}>
                  Delete
                </Button>
              )}
              <Button data-testid="ds-preview" variant="primary" disabled={busy !== null} onClick={() => void loadPreview(connection.name)}>
                Preview
              </Button>
            </>
          )}
        </div>
      )}
      {showForm && (
        <ConnectionEditor
          key={connection?.name ?? NEW}
          existing={connection}
          busy={busy !== null}
          onCancel={connection ? () => setEditing(false) : connections.length > 0 ? () => choose(connections[0]?.name ?? NEW) : undefined}
          onSave={(name, source, credential) => attempt("saving", () => datastores.save(name, source, credential)).then((c) => (c ? saved(c).then(() => true) : false))}
        />
      )}
      {busy && (
        <p className="aui-muted" role="status" data-testid="ds-busy" data-busy={busy}>
          {BUSY_TEXT[busy]}
        </p>
      )}
      {error && (
        <div className="aui-error" role="alert" data-testid="ds-error">
          <strong>{error.title}</strong>
          <p>{error.detail}</p>
        </div>
      )}
      {preview && (
        <div data-testid="ds-mapping" data-connection={preview.connection}>
          <p>
            {preview.data.columns.length} columns in the first {preview.data.rows.length} rows. Choose the columns to keep and their names in the dataset; the key column{" "}
            <code data-testid="ds-key-column">{preview.data.keyColumn}</code> is always kept, so answers can be written back to the same rows.
          </p>
          <MappingTable mapping={mapping} errors={errors} disabled={busy !== null} onChange={setMapping} />
          <div className="aui-toolbar">
            <TextField label="Dataset name" testId="ds-dataset-name" value={datasetName} error={nameError} onChange={(v) => {
              setDatasetName(v);
              setNameError(null);
            }} />
            <Button data-testid="ds-import-run" variant="primary" disabled={busy !== null || !mappingOk} onClick={() => void runImport()}>
              Import
            </Button>
            {!mappingOk && (
              <span className="aui-field-error" data-testid="ds-mapping-problem">
                {Object.keys(errors).length > 0 ? "Fix the column names above to import." : problem}
              </span>
            )}
          </div>
        </div>
      )}
    </section>
  );
}

/** The form that adds a connection or edits the chosen one. The token is write-only: typed, sent, cleared. */
function ConnectionEditor({ existing, busy, onCancel, onSave }: {
  existing: DatastoreConnection | null;
  busy: boolean;
  onCancel?: () => void;
  /** Resolves true once saved (the form then forgets the token). */
  onSave: (name: string, source: DatastoreSource, credential: string | undefined) => Promise<boolean>;
}) {
  const [form, setForm] = useState<ConnectionForm>(() => (existing ? formFromSource(existing.name, existing.source) : emptyForm("nocodb")));
  const [token, setToken] = useState("");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const tokenId = useId();
  const tokenHelpId = useId();
  const needsToken = !existing?.hasCredential;

  function set(key: string, value: string) {
    setForm((f) => ({ ...f, fields: { ...f.fields, [key]: value } }));
    setErrors(({ [key]: _, ...rest }) => rest);
  }

  async function save() {
    const result = sourceFromForm(form);
    const problems = result.ok ? {} : { ...result.errors };
    if (needsToken && token.trim() === "") problems.token = `Enter the ${credentialLabel(form).toLowerCase()}`;
    setErrors(problems);
    if (!result.ok || Object.keys(problems).length > 0) return;
    const credential = token.trim() === "" ? undefined : token.trim();
    if (await onSave(form.name.trim(), result.source, credential)) setToken("");
  }

  return (
    <form
      className="rc-datastore-form"
      aria-label={existing ? `Edit the connection ${existing.name}` : "Add a connection"}
      data-testid="ds-form"
      // The fields say what to fix inline (the browser's bubbles would name one field at a time).
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <div className="aui-toolbar">
        <SelectField
          label="Service"
          testId="ds-kind"
          value={form.kind}
          options={KINDS}
          onChange={(kind) => {
            // A saved connection keeps its kind: its token belongs to that service.
            if (existing) return;
            setForm((f) => ({ ...emptyForm(kind as DatastoreKind), name: f.name }));
            setErrors({});
          }}
        />
        {existing ? (
          <span data-testid="ds-form-name">{existing.name}</span>
        ) : (
          <TextField label="Connection name" testId="ds-name" value={form.name} error={errors.name} required onChange={(v) => {
            setForm((f) => ({ ...f, name: v }));
            setErrors(({ name: _, ...rest }) => rest);
          }} />
        )}
      </div>
      <div className="aui-toolbar">
        {FIELDS[form.kind].map((field) => (
          <TextField
            key={field.key}
            label={field.label}
            testId={`ds-field-${field.key}`}
            value={form.fields[field.key] ?? ""}
            placeholder={field.placeholder}
            required={field.required}
            error={errors[field.key]}
            onChange={(v) => set(field.key, v)}
          />
        ))}
        {form.kind === "nocodb" && (
          <SelectField
            label="Token kind"
            testId="ds-token-kind"
            value={form.tokenKind}
            options={[
              { value: "xc-token", label: "API token (xc-token)" },
              { value: "xc-auth", label: "Session (xc-auth)" },
            ]}
            onChange={(v) => setForm((f) => ({ ...f, tokenKind: v as TokenKind }))}
          />
        )}
      </div>
      <div className="aui-toolbar">
        {/* Not the kit's TextField: a password field, never filled from state the page keeps. */}
        <div className="aui-field" data-invalid={errors.token ? "true" : "false"}>
          <label htmlFor={tokenId}>{credentialLabel(form)}</label>
          <input
            id={tokenId}
            type="password"
            autoComplete="off"
            data-testid="ds-token"
            value={token}
            required={needsToken}
            aria-invalid={errors.token ? true : undefined}
            aria-describedby={tokenHelpId}
            onChange={(e) => {
              setToken(e.target.value);
              setErrors(({ token: _, ...rest }) => rest);
            }}
          />
          <span id={tokenHelpId} className="aui-muted">
            Saved in your OS keychain, never shown again.{existing?.hasCredential ? " Leave empty to keep the saved token." : ""}
          </span>
          {errors.token && (
            <span className="aui-field-error" role="alert">
              {errors.token}
            </span>
          )}
        </div>
        <Button type="submit" data-testid="ds-save-connection" variant="primary" disabled={busy}>
          Save connection
        </Button>
        {onCancel && (
          <Button type="button" disabled={busy} onClick={onCancel}>
            Cancel
          </Button>
        )}
      </div>
    </form>
  );
}

/** Each source column with its types and samples, whether it is kept, and its name in the dataset. */
function MappingTable({ mapping, errors, disabled, onChange }: {
  mapping: MappedColumn[];
  errors: Record<string, string>;
  disabled: boolean;
  onChange: (next: MappedColumn[]) => void;
}) {
  const errorIds = useId();
  const update = (source: string, change: Partial<MappedColumn>) => onChange(mapping.map((c) => (c.source === source ? { ...c, ...change } : c)));
  return (
    <table className="rc-mapping" aria-label="Column mapping">
      <thead>
        <tr>
          <th scope="col">Keep</th>
          <th scope="col">Source column</th>
          <th scope="col">Inferred type</th>
          <th scope="col">Service type</th>
          <th scope="col">Samples</th>
          <th scope="col">Name in the dataset</th>
        </tr>
      </thead>
      <tbody>
        {mapping.map((column, index) => {
          const error = errors[column.source];
          const errorId = `${errorIds}-${index}`;
          return (
            <tr key={column.source} data-column={column.source} data-key={column.isKey ? "true" : "false"}>
              <td>
                <input
                  type="checkbox"
                  data-testid="ds-include"
                  aria-label={column.isKey ? `${column.source} is the key: always kept` : `Keep ${column.source}`}
                  checked={column.include || column.isKey}
                  disabled={disabled || column.isKey}
                  onChange={(e) => update(column.source, { include: e.target.checked })}
                />
              </td>
              <th scope="row">
                {column.source} {column.isKey && <Badge tone="neutral">key</Badge>}
              </th>
              <td data-testid="ds-inferred">{column.inferred}</td>
              <td data-testid="ds-service-type">{column.serviceType ?? "—"}</td>
              <td className="aui-muted">{column.samples.map(sampleText).join(", ")}</td>
              <td>
                <div className="aui-field" data-invalid={error ? "true" : "false"}>
                  <input
                    data-testid="ds-target"
                    aria-label={`Name of ${column.source} in the dataset`}
                    value={column.target}
                    disabled={disabled || !(column.include || column.isKey)}
                    aria-invalid={error ? true : undefined}
                    aria-describedby={error ? errorId : undefined}
                    onChange={(e) => update(column.source, { target: e.target.value })}
                  />
                  {error && (
                    <span id={errorId} className="aui-field-error" data-testid="ds-target-error">
                      {error}
                    </span>
                  )}
                </div>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
