// Exporting everything the filters match (from offset 0, in the table's
// order) as CSV, JSON or Markdown, to a file chosen in the shell's native save dialog (its
// single-use token; the page never names a path) or the app's exports folder.
import { useState } from "react";
import { call, type ExportFormat, type ExportResult, type FileChoice, type ResponseQuery } from "@augment-it/host-client";
import { Button, SelectField, Toolbar, type SelectOption } from "@augment-it/ui-kit";
import { describeError } from "./logic";

const EXTENSIONS: Record<ExportFormat, string> = { csv: "csv", json: "json", markdown: "md" };

const FORMATS: SelectOption[] = [
  { value: "csv", label: "CSV" },
  { value: "json", label: "JSON" },
  { value: "markdown", label: "Markdown" },
];

export function Export({ query }: { query: ResponseQuery }) {
  const [format, setFormat] = useState<ExportFormat>("csv");
  const [file, setFile] = useState<FileChoice | null>(null);
  const [result, setResult] = useState<ExportResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [exporting, setExporting] = useState(false);

  const choose = async () => {
    try {
      const chosen = await call("choose_save_path", { title: "Export responses", suggestedName: `responses.${EXTENSIONS[format]}` });
      if (chosen) setFile(chosen);
      setError(null);
    } catch (err) {
      setError(describeError(err));
    }
  };

  const run = async () => {
    setExporting(true);
    try {
      const written = await call("export_responses", { query: { ...query, offset: 0 }, format, file: file?.token ?? null });
      setResult(written);
      setError(null);
    } catch (err) {
      setResult(null);
      setError(describeError(err));
    } finally {
      // The token is used up either way.
      setFile(null);
      setExporting(false);
    }
  };

  const showInFolder = async (path: string) => {
    try {
      await call("show_in_folder", { path });
    } catch (err) {
      setError(describeError(err));
    }
  };

  return (
    <div className="ia-export">
      <h2>Export</h2>
      <Toolbar>
        <SelectField label="Format" testId="ia-export-format" value={format} options={FORMATS} onChange={(value) => setFormat(value as ExportFormat)} />
        <Button data-testid="ia-export-choose" disabled={exporting} onClick={() => void choose()}>
          Choose where to save…
        </Button>
        <span data-testid="ia-export-file" data-chosen={file ? "true" : "false"}>
          {file ? file.name : "the app's exports folder"}
        </span>
        <Button variant="primary" data-testid="ia-export" disabled={exporting} onClick={() => void run()}>
          Export
        </Button>
      </Toolbar>
      {result && (
        <p className="ia-export-done">
          <span data-testid="ia-export-result" data-path={result.path}>
            Exported {result.rows} responses to {result.path}
          </span>{" "}
          <Button data-testid="ia-show-in-folder" onClick={() => void showInFolder(result.path)}>
            Show in folder
          </Button>
        </p>
      )}
      {error && (
        <p className="aui-field-error" role="alert" data-testid="ia-export-error">
          {error}
        </p>
      )}
    </div>
  );
}
