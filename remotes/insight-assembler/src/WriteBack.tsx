// A run's answers, tags and notes written back to the rows they came from in
// NocoDB, Airtable or Databricks (issue 19 point 1; `write_back_run`). Rust
// finds each row by the key the import kept, so writing again updates the
// same rows, never adds any; a row the store refused is listed and written
// by the next try. A run answered by several models is refused by the shell
// (which model's answer would it write?): the CLI's `--model` chooses one.
import { useEffect, useState } from "react";
import { call, datastores, type DatastoreConnection, type RunSummary, type WriteReport } from "@augment-it/host-client";
import { Button, EmptyState, SelectField, TextField, Toolbar } from "@augment-it/ui-kit";
import { runLabel } from "./compare-runs";
import { describeError } from "./logic";

/** Refused rows shown; the rest are counted. */
export const FAILED_SHOWN = 20;

/** Column names as the person typed them; an empty one is not written. */
export interface TargetColumns {
  answer: string;
  tags: string;
  notes: string;
}

/** The `columns` of `write_back_run`, or why the form cannot be sent. */
export function writeBackColumns(columns: TargetColumns): { answer: string | null; tags: string | null; notes: string | null } | string {
  const named = {
    answer: columns.answer.trim() || null,
    tags: columns.tags.trim() || null,
    notes: columns.notes.trim() || null,
  };
  if (!named.answer && !named.tags && !named.notes) return "Name at least one column to write: the answer, the tags or the notes.";
  const names = [named.answer, named.tags, named.notes].filter((n): n is string => n !== null);
  if (new Set(names).size !== names.length) return "Each column needs its own name: two would overwrite each other.";
  return named;
}

/** One line for what a write-back did. */
export function reportText(report: WriteReport, connection: string): string {
  const parts = [`Wrote ${report.updated} row${report.updated === 1 ? "" : "s"} to ${connection}.`];
  if (report.createdColumns.length > 0) parts.push(`Created ${report.createdColumns.join(", ")}.`);
  if (report.failed.length > 0) parts.push(`${report.failed.length} refused: write back again to retry them.`);
  if (report.withoutKey > 0) parts.push(`${report.withoutKey} answered record${report.withoutKey === 1 ? " has" : "s have"} no key and ${report.withoutKey === 1 ? "was" : "were"} skipped.`);
  return parts.join(" ");
}

export function WriteBack({ datasetId, revision }: { datasetId: number; revision: number }) {
  const [runs, setRuns] = useState<RunSummary[] | null>(null);
  const [connections, setConnections] = useState<DatastoreConnection[] | null>(null);
  const [run, setRun] = useState("");
  const [connection, setConnection] = useState("");
  const [columns, setColumns] = useState<TargetColumns>({ answer: "AI answer", tags: "", notes: "" });
  const [create, setCreate] = useState(true);
  const [writing, setWriting] = useState(false);
  const [report, setReport] = useState<{ report: WriteReport; connection: string } | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    Promise.all([call("list_runs", { datasetId }), datastores.list()])
      .then(([runList, saved]) => {
        if (!live) return;
        setRuns(runList.filter((r) => r.answered > 0));
        setConnections(saved);
        setError(null);
      })
      .catch((err: unknown) => live && setError(describeError(err)));
    return () => {
      live = false;
    };
  }, [datasetId, revision]);

  const named = writeBackColumns(columns);
  const invalid = typeof named === "string" ? named : null;

  const write = async () => {
    if (typeof named === "string") return;
    setWriting(true);
    try {
      const written = await datastores.writeBack(Number(run), connection, named, create);
      setReport({ report: written, connection });
      setError(null);
    } catch (err) {
      setReport(null);
      setError(describeError(err));
    } finally {
      setWriting(false);
    }
  };

  if (connections && connections.length === 0) {
    return <EmptyState title="No data-store connections" hint="Import a table from NocoDB, Airtable or Databricks in the Record Collector first; its answers can then be written back here." />;
  }
  return (
    <div className="ia-write-back" data-testid="ia-write-back">
      <Toolbar>
        <SelectField
          label="Run"
          testId="ia-write-back-run"
          value={run}
          options={[{ value: "", label: "choose a run" }, ...(runs ?? []).map((r) => ({ value: String(r.run_id), label: runLabel(r) }))]}
          onChange={setRun}
        />
        <SelectField
          label="Connection"
          testId="ia-write-back-connection"
          value={connection}
          options={[{ value: "", label: "choose a connection" }, ...(connections ?? []).map((c) => ({ value: c.name, label: `${c.name} (${c.kind})` }))]}
          onChange={setConnection}
        />
      </Toolbar>
      <Toolbar>
        <TextField label="Answer column" testId="ia-write-back-answer" value={columns.answer} onChange={(answer) => setColumns({ ...columns, answer })} />
        <TextField label="Tags column" testId="ia-write-back-tags" value={columns.tags} placeholder="not written" onChange={(tags) => setColumns({ ...columns, tags })} />
        <TextField label="Notes column" testId="ia-write-back-notes" value={columns.notes} placeholder="not written" onChange={(notes) => setColumns({ ...columns, notes })} />
        <label>
          <input type="checkbox" data-testid="ia-write-back-create" checked={create} onChange={(e) => setCreate(e.target.checked)} /> Create missing columns
        </label>
        <Button variant="primary" data-testid="ia-write-back-go" disabled={writing || !run || !connection || invalid !== null} onClick={() => void write()}>
          {writing ? "Writing back…" : "Write back"}
        </Button>
      </Toolbar>
      <p className="aui-muted">Each answer goes to the row its record was imported from; writing again updates the same rows.</p>
      {invalid && (
        <p className="aui-field-error" data-testid="ia-write-back-invalid">
          {invalid}
        </p>
      )}
      {report && (
        <div role="status" data-testid="ia-write-back-report">
          <p>{reportText(report.report, report.connection)}</p>
          {report.report.failed.length > 0 && (
            <ul aria-label="Rows the store refused">
              {report.report.failed.slice(0, FAILED_SHOWN).map((f) => (
                <li key={f.key}>
                  {f.key}: {f.reason}
                </li>
              ))}
              {report.report.failed.length > FAILED_SHOWN && <li>… and {report.report.failed.length - FAILED_SHOWN} more</li>}
            </ul>
          )}
        </div>
      )}
      {error && (
        <p className="aui-field-error" role="alert" data-testid="ia-write-back-error">
          {error}
        </p>
      )}
    </div>
  );
}
