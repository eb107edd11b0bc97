// The price table (issue 17, point 7): US dollars per million tokens per
// provider model, the list prices with the person's own on top. A cell is
// edited in place (Enter or a double-click); "Reset" puts a model's list price
// back. Estimates and the charts' costs use what this table shows.
import { useCallback, useEffect, useState } from "react";
import { asCommandError, call, type PriceRow, type Rates } from "@augment-it/host-client";
import { Button, DataTable, EmptyState, ErrorState, TextField, type Column } from "@augment-it/ui-kit";
import { formatRate, parseRate } from "./prices";

type RateKey = keyof Rates;

const RATE_COLUMNS: { key: RateKey; header: string }[] = [
  { key: "input", header: "Input" },
  { key: "output", header: "Output" },
  { key: "cachedInput", header: "Cached input" },
  { key: "batchInput", header: "Batch input" },
  { key: "batchOutput", header: "Batch output" },
];

const keyOf = (row: PriceRow) => `${row.provider}/${row.model}`;

export function Prices() {
  const [rows, setRows] = useState<PriceRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [added, setAdded] = useState({ provider: "", model: "", input: "", output: "" });

  const reload = useCallback(async () => {
    try {
      setRows(await call("list_prices"));
      setError(null);
    } catch (err) {
      setError(asCommandError(err).message);
    }
  }, []);
  useEffect(() => void reload(), [reload]);

  const save = async (row: PriceRow, key: RateKey, text: string) => {
    const value = parseRate(text);
    if (value === undefined) throw new Error("Type US dollars per million tokens (e.g. 0.15), or leave it empty for unknown.");
    await call("set_price", { provider: row.provider, model: row.model, rates: { ...row.rates, [key]: value } });
    await reload();
  };

  const reset = async (row: PriceRow) => {
    setActionError(null);
    try {
      await call("reset_price", { provider: row.provider, model: row.model });
      await reload();
    } catch (err) {
      setActionError(asCommandError(err).message);
    }
  };

  const add = async () => {
    setActionError(null);
    const input = parseRate(added.input);
    const output = parseRate(added.output);
    if (input === undefined || output === undefined) {
      setActionError("Type the prices as US dollars per million tokens (e.g. 0.15), or leave them empty for unknown.");
      return;
    }
    try {
      const rates: Rates = { input, output, cachedInput: null, batchInput: null, batchOutput: null };
      await call("set_price", { provider: added.provider, model: added.model, rates });
      setAdded({ provider: "", model: "", input: "", output: "" });
      await reload();
    } catch (err) {
      setActionError(asCommandError(err).message);
    }
  };

  const columns: Column<PriceRow>[] = [
    { key: "provider", header: "Provider", render: (r) => r.provider, sortValue: (r) => r.provider },
    { key: "model", header: "Model", width: "1.6fr", render: (r) => r.model, sortValue: (r) => r.model },
    ...RATE_COLUMNS.map(
      ({ key, header }): Column<PriceRow> => ({
        key,
        header,
        render: (r) => formatRate(r.rates[key] ?? null),
        sortValue: (r) => r.rates[key] ?? null,
        edit: { text: (r) => (r.rates[key] ?? "").toString(), save: (r, text) => save(r, key, text), label: (r) => `${header} price of ${keyOf(r)}` },
      }),
    ),
    {
      key: "source",
      header: "Source",
      render: (r) =>
        r.overridden ? (
          r.default ? (
            <Button onClick={() => void reset(r)} aria-label={`Reset ${keyOf(r)} to its list price`}>
              Reset
            </Button>
          ) : (
            <Button onClick={() => void reset(r)} aria-label={`Remove the price of ${keyOf(r)}`}>
              Remove
            </Button>
          )
        ) : (
          "list price"
        ),
    },
  ];

  return (
    <section className="admin-prices" data-testid="admin-prices" aria-labelledby="admin-prices-title">
      <h2 id="admin-prices-title">Prices</h2>
      <p className="aui-muted">US dollars per million tokens; empty is unknown. Edit a cell to use your own price (a negotiated rate, a local model at 0); estimates and charts use this table.</p>
      {error && <ErrorState title="Could not load the prices" detail={error} onRetry={() => void reload()} />}
      {rows === null && !error && (
        <p className="aui-muted" role="status">
          Loading the prices…
        </p>
      )}
      {rows && (
        <DataTable label="Prices" columns={columns} rows={rows} rowKey={keyOf} height={280} empty={<EmptyState title="No prices" />} />
      )}
      <form
        className="admin-price-add"
        onSubmit={(e) => {
          e.preventDefault();
          void add();
        }}
      >
        <TextField label="Provider" value={added.provider} placeholder="e.g. ollama" onChange={(provider) => setAdded({ ...added, provider })} />
        <TextField label="Model" value={added.model} placeholder="e.g. llama3.2" onChange={(model) => setAdded({ ...added, model })} />
        <TextField label="Input $/M" value={added.input} placeholder="0" onChange={(input) => setAdded({ ...added, input })} />
        <TextField label="Output $/M" value={added.output} placeholder="0" onChange={(output) => setAdded({ ...added, output })} />
        <Button type="submit" disabled={!added.provider.trim() || !added.model.trim()}>
          Add price
        </Button>
      </form>
      {actionError && (
        <p className="aui-field-error" role="alert" data-testid="admin-prices-error">
          {actionError}
        </p>
      )}
    </section>
  );
}
