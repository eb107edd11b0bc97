// Tokens and cost per provider/model for the approved-or-pending requests,
// reloaded whenever the requests change (`version`).
import { useEffect, useState } from "react";
import { call, type ModelEstimate } from "@augment-it/host-client";
import { DataTable, EmptyState, ErrorState, TextField, type Column } from "@augment-it/ui-kit";
import { describeError, formatCost, parseOutputTokens, targetLabel } from "./logic";

// One row per model, all loaded: the table sorts what it holds.
const COLUMNS: Column<ModelEstimate>[] = [
  { key: "model", header: "Model", width: "1.6fr", render: (e) => targetLabel(e), sortValue: (e) => targetLabel(e) },
  { key: "requests", header: "Requests", render: (e) => e.requests, sortValue: (e) => e.requests },
  { key: "input", header: "Input tokens", render: (e) => e.input_tokens, sortValue: (e) => e.input_tokens },
  { key: "output", header: "Output tokens", render: (e) => e.output_tokens, sortValue: (e) => e.output_tokens },
  { key: "cost", header: "Cost (USD)", render: (e) => formatCost(e.cost_usd), sortValue: (e) => e.cost_usd },
  // Beside the live price when the model has a batch rate (host API 1.5.0; an older shell leaves it out).
  {
    key: "batch",
    header: "Batch cost (USD)",
    render: (e) => (e.batch_cost_usd == null ? "—" : formatCost(e.batch_cost_usd)),
    sortValue: (e) => e.batch_cost_usd ?? null,
  },
];

export interface EstimateProps {
  datasetId: number;
  templateVersionId: number;
  /** Bumped when the requests change. */
  version: number;
  /** How many times the run asks each prompt (the run form's Repeats): each prompt counted that often. */
  repeats?: number;
}

export function Estimate({ datasetId, templateVersionId, version, repeats = 1 }: EstimateProps) {
  const [outputTokens, setOutputTokens] = useState("256");
  // null until the first answer: no empty table before it.
  const [rows, setRows] = useState<ModelEstimate[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const tokens = parseOutputTokens(outputTokens);

  useEffect(() => {
    if (tokens === null) return;
    let live = true;
    // Only sent above 1 (host API 1.7.0), so one ask reads as it always did.
    call("estimate_requests", { datasetId, templateVersionId, outputTokens: tokens, ...(repeats > 1 ? { repeats } : {}) })
      .then((result) => live && (setRows(result), setError(null)))
      .catch((err: unknown) => live && setError(describeError(err)));
    return () => {
      live = false;
    };
  }, [datasetId, templateVersionId, tokens, version, attempt, repeats]);

  return (
    <div data-testid="rr-estimate">
      <h2>Estimate</h2>
      {repeats > 1 && (
        <p className="aui-muted" data-testid="rr-estimate-repeats">
          Each prompt asked {repeats} times (Repeats below): {repeats} requests per prompt, {repeats} times the cost.
        </p>
      )}
      <TextField label="Output tokens per answer" type="number" min={0} value={outputTokens} onChange={setOutputTokens} />
      {tokens === null && (
        <p className="aui-field-error" role="alert">
          Type the expected output tokens per answer as a whole number (0 or more).
        </p>
      )}
      {error ? (
        <ErrorState
          title="Could not estimate the requests"
          detail={error}
          onRetry={() => {
            setError(null);
            setAttempt((n) => n + 1);
          }}
        />
      ) : rows === null ? (
        // Nothing is asked while the token count is not a number (the field says so).
        tokens !== null && (
          <p className="aui-muted" role="status">
            Loading the estimate…
          </p>
        )
      ) : (
        <DataTable
          label="Estimate"
          columns={COLUMNS}
          rows={rows}
          rowKey={targetLabel}
          height={160}
          empty={<EmptyState title="No requests to estimate" hint="Generate requests above: the pending and approved ones are estimated here." />}
        />
      )}
    </div>
  );
}
