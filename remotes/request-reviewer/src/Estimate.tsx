// Tokens and cost per provider/model for the approved-or-pending requests,
// reloaded whenever the requests change (`version`).
import { useEffect, useState } from "react";
import { call, type ModelEstimate } from "@augment-it/host-client";
import { DataTable, TextField, type Column } from "@augment-it/ui-kit";
import { describeError, formatCost, parseOutputTokens, targetLabel } from "./logic";

// One row per model, all loaded: the table sorts what it holds.
const COLUMNS: Column<ModelEstimate>[] = [
  { key: "model", header: "Model", width: "1.6fr", render: (e) => targetLabel(e), sortValue: (e) => targetLabel(e) },
  { key: "requests", header: "Requests", render: (e) => e.requests, sortValue: (e) => e.requests },
  { key: "input", header: "Input tokens", render: (e) => e.input_tokens, sortValue: (e) => e.input_tokens },
  { key: "output", header: "Output tokens", render: (e) => e.output_tokens, sortValue: (e) => e.output_tokens },
  { key: "cost", header: "Cost (USD)", render: (e) => formatCost(e.cost_usd), sortValue: (e) => e.cost_usd },
];

export function Estimate({ datasetId, templateVersionId, version }: { datasetId: number; templateVersionId: number; version: number }) {
  const [outputTokens, setOutputTokens] = useState("256");
  const [rows, setRows] = useState<ModelEstimate[]>([]);
  const [error, setError] = useState<string | null>(null);
  const tokens = parseOutputTokens(outputTokens);

  useEffect(() => {
    if (tokens === null) return;
    let live = true;
    call("estimate_requests", { datasetId, templateVersionId, outputTokens: tokens })
      .then((result) => live && (setRows(result), setError(null)))
      .catch((err: unknown) => live && setError(describeError(err)));
    return () => {
      live = false;
    };
  }, [datasetId, templateVersionId, tokens, version]);

  return (
    <div data-testid="rr-estimate">
      <h2>Estimate</h2>
      <TextField label="Output tokens per answer" type="number" min={0} value={outputTokens} onChange={setOutputTokens} />
      {tokens === null && (
        <p className="aui-field-error" role="alert">
          Type the expected output tokens per answer as a whole number (0 or more).
        </p>
      )}
      {error && (
        <p className="aui-field-error" role="alert">
          {error}
        </p>
      )}
      <DataTable label="Estimate" columns={COLUMNS} rows={rows} rowKey={targetLabel} height={160} />
    </div>
  );
}
