// Exporting everything the filters match (from offset 0) as CSV, JSON or
// Markdown, to a chosen path or the app's exports folder.
import { useState } from "react";
import { call, type ExportFormat, type ExportResult, type ResponseQuery } from "@augment-it/host-client";
import { Button, SelectField, TextField, Toolbar, type SelectOption } from "@augment-it/ui-kit";
import { describeError } from "./logic";

const FORMATS: SelectOption[] = [
  { value: "csv", label: "CSV" },
  { value: "json", label: "JSON" },
  { value: "markdown", label: "Markdown" },
];

export function Export({ query }: { query: ResponseQuery }) {
  const [format, setFormat] = useState<ExportFormat>("csv");
  const [path, setPath] = useState("");
  const [result, setResult] = useState<ExportResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [exporting, setExporting] = useState(false);

  const run = async () => {
    setExporting(true);
    try {
      const written = await call("export_responses", { query: { ...query, offset: 0 }, format, path: path.trim() || null });
      setResult(written);
      setError(null);
    } catch (err) {
      setResult(null);
      setError(describeError(err));
    } finally {
      setExporting(false);
    }
  };

  return (
    <div className="ia-export">
      <h2>Export</h2>
      <Toolbar>
        <SelectField label="Format" testId="ia-export-format" value={format} options={FORMATS} onChange={(value) => setFormat(value as ExportFormat)} />
        <TextField
          label="Path (optional)"
          testId="ia-export-path"
          value={path}
          placeholder="absolute path; empty = the app's exports folder"
          onChange={setPath}
        />
        <Button variant="primary" data-testid="ia-export" disabled={exporting} onClick={() => void run()}>
          Export
        </Button>
      </Toolbar>
      {result && (
        <p data-testid="ia-export-result" data-path={result.path}>
          Exported {result.rows} responses to {result.path}
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
