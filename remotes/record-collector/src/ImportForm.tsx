// The import form: a file chosen in the shell's native dialog, dropped on
// the window, or picked from the recent files; or pasted text; a format, a
// name; Preview parses one page without saving, Save stores the dataset.
// Parse errors name line and column. The page never names a path: it holds
// the single-use token Rust gave for the file (a preview hands back a fresh one).
import { useCallback, useEffect, useRef, useState } from "react";
import { call, onFilesDropped, type ColumnType, type Dataset, type FileChoice, type FilesDropped, type Format, type ImportPreview, type Json, type Parser, type RecentFile } from "@augment-it/host-client";
import { Button, DataTable, EmptyState, toast, type Column } from "@augment-it/ui-kit";
import { cellText, chooseSource, errorText, FORMATS, formatFromPath, nameFromPath } from "./logic";

const PREVIEW_ROWS = 100;

type PreviewRow = { index: number; cells: Json[] };

/** Which parser read the document, as the reply said; shown and exposed as `data-parser`. */
type ParserUsed = { parser: Parser; text: string };

function parserUsed(parser: Parser, reason: string | null): ParserUsed {
  return { parser, text: `Parsed by the ${parser} parser${reason ? ` (${reason})` : ""}` };
}

// The preview holds all its rows, so the table sorts them; a long value opens whole in the drawer.
function previewColumns(columns: string[], types: ColumnType[]): Column<PreviewRow>[] {
  return columns.map((name, i) => ({
    key: `c${i}`,
    header: `${name} (${types[i] ?? "string"})`,
    minWidth: 96,
    render: (row) => cellText(row.cells[i]),
    sortValue: (row) => {
      const value = row.cells[i];
      return typeof value === "number" ? value : cellText(value);
    },
    detail: (row) => cellText(row.cells[i]),
  }));
}

export function ImportForm({ onSaved }: { onSaved: (dataset: Dataset) => void }) {
  const [file, setFile] = useState<FileChoice | null>(null);
  const [text, setText] = useState("");
  const [format, setFormat] = useState<Format>("csv");
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [preview, setPreview] = useState<ImportPreview | null>(null);
  const [parser, setParser] = useState<ParserUsed | null>(null);

  const [recent, setRecent] = useState<RecentFile[]>([]);
  const form = useRef<HTMLElement>(null);

  const take = useCallback((chosen: FileChoice) => {
    setError(null);
    setFile(chosen);
    const detected = formatFromPath(chosen.name);
    if (detected) setFormat(detected);
    setName(nameFromPath(chosen.name));
  }, []);

  // The recent files are a shortcut, offered once listed: the command cannot fail
  // in this shell (only a host without it refuses), and without it a file is still
  // chosen, dropped or pasted, so no loading line or error stands in for it.
  const readRecent = useCallback(() => {
    call("recent_files").then(setRecent, () => setRecent([]));
  }, []);
  useEffect(readRecent, [readRecent]);

  // A drop anywhere on the window while this screen is shown picks the file.
  useEffect(() => {
    const onDrop = (dropped: FilesDropped) => {
      if (!form.current?.isConnected || form.current.closest("[hidden]")) return;
      const [first, ...others] = dropped.files;
      if (!first) {
        setError(`${dropped.skipped.join(", ") || "What was dropped"} is not a file: drop a CSV, JSON or other document.`);
        return;
      }
      take(first);
      if (others.length > 0) toast(`One file is imported at a time: took ${first.name}.`, "info");
    };
    const unlisten = onFilesDropped(onDrop).catch(() => null);
    return () => void unlisten.then((stop) => stop?.());
  }, [take]);

  async function chooseFile() {
    setError(null);
    try {
      const chosen = await call("choose_file", { title: "Import a document" });
      if (chosen) take(chosen);
    } catch (err) {
      setError(errorText(err));
    }
  }

  async function chooseRecent(id: string) {
    try {
      take(await call("choose_recent_file", { id }));
    } catch (err) {
      setError(errorText(err));
      readRecent();
    }
  }

  async function run(action: "preview" | "save") {
    const choice = chooseSource(file, text);
    if (!choice.ok) {
      setError(choice.message);
      return;
    }
    if (action === "save" && name.trim() === "") {
      setError("Give the dataset a name, then save again.");
      return;
    }
    setBusy(true);
    setError(null);
    // A failed attempt must not leave the previous attempt's parser on show.
    setParser(null);
    try {
      if (action === "preview") {
        const result = await call("import_records", { ...choice.source, format, offset: 0, limit: PREVIEW_ROWS });
        // The token given is used up; the reply carries a fresh one for Save.
        if (file) setFile(result.file ?? null);
        setPreview(result);
        setParser(parserUsed(result.parser, result.parserReason));
      } else {
        const saved = await call("save_dataset", { ...choice.source, format, name: name.trim() });
        if (file) setFile(null);
        setParser(parserUsed(saved.parser, saved.parserReason));
        toast(`Saved "${saved.dataset.name}" with ${saved.dataset.row_count} rows`, "success");
        onSaved(saved.dataset);
        readRecent();
      }
    } catch (err) {
      // A file's token is used up even by a failed attempt.
      if (file) {
        setFile(null);
        setError(`${errorText(err)}. Choose the file again to retry.`);
      } else {
        setError(errorText(err));
      }
    } finally {
      setBusy(false);
    }
  }

  const rows: PreviewRow[] = preview ? preview.rows.map((cells, i) => ({ index: preview.offset + i, cells })) : [];
  return (
    <section className="rc-import" aria-label="Import" ref={form}>
      <h2>Import</h2>
      <div className="aui-toolbar">
        <div className="aui-field">
          <span>File</span>
          <Button data-testid="rc-choose-file" disabled={busy} onClick={() => void chooseFile()}>
            {file ? "Choose another file…" : "Choose file…"}
          </Button>
          <span data-testid="rc-file" data-chosen={file ? "true" : "false"}>
            {file ? file.name : "no file chosen"}
          </span>
          {file && (
            <Button data-testid="rc-clear-file" disabled={busy} onClick={() => setFile(null)}>
              Clear
            </Button>
          )}
          <span className="aui-muted">or drop a file on this window</span>
        </div>
        {recent.length > 0 && (
          <label className="aui-field">
            <span>Recent files</span>
            <select
              data-testid="rc-recent"
              value=""
              disabled={busy}
              onChange={(e) => {
                if (e.target.value) void chooseRecent(e.target.value);
              }}
            >
              <option value="">Choose a recent file…</option>
              {recent.map((r) => (
                <option key={r.id} value={r.id} title={r.folder}>
                  {r.name} — {r.folder}
                </option>
              ))}
            </select>
          </label>
        )}
        <label className="aui-field">
          <span>Format</span>
          <select data-testid="rc-format" value={format} onChange={(e) => setFormat(e.target.value as Format)}>
            {FORMATS.map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
        </label>
        <label className="aui-field">
          <span>Dataset name</span>
          <input data-testid="rc-name" value={name} onChange={(e) => setName(e.target.value)} />
        </label>
      </div>
      <label className="aui-field">
        <span>Or paste a document</span>
        <textarea data-testid="rc-text" rows={6} value={text} onChange={(e) => setText(e.target.value)} />
      </label>
      <div className="aui-toolbar">
        <Button data-testid="rc-preview" disabled={busy} onClick={() => void run("preview")}>
          Preview
        </Button>
        <Button data-testid="rc-save" variant="primary" disabled={busy} onClick={() => void run("save")}>
          Save dataset
        </Button>
      </div>
      {error && (
        <div className="aui-error" role="alert" data-testid="rc-error">
          <strong>Could not read the document</strong>
          <p>{error}</p>
        </div>
      )}
      {parser && (
        <p className="aui-muted" data-testid="rc-parser" data-parser={parser.parser}>
          {parser.text}
        </p>
      )}
      {preview && (
        <div data-testid="rc-preview-table">
          <p data-testid="rc-preview-size">
            {preview.totalRows} rows × {preview.totalColumns} columns
          </p>
          <DataTable
            label="Preview"
            columns={previewColumns(preview.columns, preview.types)}
            rows={rows}
            rowKey={(row) => String(row.index)}
            height={240}
            empty={<EmptyState title="The document has no rows" hint="Check the format, or choose or paste a document with rows under its header." />}
          />
        </div>
      )}
    </section>
  );
}
