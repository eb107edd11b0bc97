// The saved datasets: click to select, delete with a confirm step and undo
// it from the toast (the shell keeps a deleted dataset in its trash a minute).
import { useState } from "react";
import { call, type Dataset } from "@augment-it/host-client";
import { Badge, Button, EmptyState, toast } from "@augment-it/ui-kit";
import { errorText } from "./logic";

interface DatasetsProps {
  datasets: Dataset[];
  selectedId: number | null;
  onSelect: (dataset: Dataset) => void;
  onDeleted: (datasetId: number) => void;
  onRestored: (dataset: Dataset) => void;
}

export function Datasets({ datasets, selectedId, onSelect, onDeleted, onRestored }: DatasetsProps) {
  return (
    <section aria-label="Datasets">
      <h2>Datasets</h2>
      {datasets.length === 0 ? (
        <div data-testid="rc-datasets">
          <EmptyState title="No datasets yet" hint="Import a file or paste a document above, then save it." />
        </div>
      ) : (
        <ul className="rc-datasets" data-testid="rc-datasets">
          {datasets.map((d) => (
            <DatasetItem key={d.id} dataset={d} selected={d.id === selectedId} onSelect={onSelect} onDeleted={onDeleted} onRestored={onRestored} />
          ))}
        </ul>
      )}
    </section>
  );
}

function DatasetItem({ dataset, selected, onSelect, onDeleted, onRestored }: {
  dataset: Dataset;
  selected: boolean;
  onSelect: (dataset: Dataset) => void;
  onDeleted: (datasetId: number) => void;
  onRestored: (dataset: Dataset) => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function remove() {
    setBusy(true);
    setError(null);
    try {
      await call("delete_dataset", { datasetId: dataset.id });
      onDeleted(dataset.id);
      toast(`Deleted ${dataset.name} (${dataset.row_count} rows)`, "info", { action: { label: "Undo", run: () => void restore(dataset, onRestored) } });
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
      setConfirming(false);
    }
  }

  return (
    // The whole item selects (a click anywhere on it, as the spec's `[data-dataset-id]` item);
    // the delete controls stop their clicks from selecting too. The button inside gives keyboard users
    // the same action, and the actions' span only stops a click from bubbling.
    // eslint-disable-next-line jsx-a11y/click-events-have-key-events, jsx-a11y/no-noninteractive-element-interactions
    <li data-dataset-id={dataset.id} data-selected={selected ? "true" : "false"} className="rc-dataset" onClick={() => onSelect(dataset)}>
      <button type="button" className="aui-button" data-variant={selected ? "primary" : "default"}>
        <span className="rc-dataset-name">{dataset.name}</span> <Badge tone="neutral">{dataset.format}</Badge>{" "}
        <span className="rc-dataset-rows">{dataset.row_count} rows</span>
      </button>{" "}
      {/* eslint-disable-next-line jsx-a11y/click-events-have-key-events, jsx-a11y/no-static-element-interactions */}
      <span className="rc-dataset-actions" onClick={(e) => e.stopPropagation()}>
        {confirming ? (
          <>
            <Button data-action="confirm-delete" disabled={busy} onClick={() => void remove()}>
              Confirm delete
            </Button>{" "}
            <Button disabled={busy} onClick={() => setConfirming(false)}>
              Cancel
            </Button>
          </>
        ) : (
          <Button data-action="delete" onClick={() => setConfirming(true)}>
            Delete
          </Button>
        )}
      </span>
      {error && (
        <span className="aui-field-error" role="alert">
          {error}
        </span>
      )}
    </li>
  );
}

// Runs from the toast, after this dataset's item has gone: nothing here may touch its state.
async function restore(dataset: Dataset, onRestored: (dataset: Dataset) => void) {
  try {
    onRestored(await call("restore_dataset", { datasetId: dataset.id }));
    toast(`Restored ${dataset.name}`, "success");
  } catch (err) {
    toast(`Could not restore ${dataset.name}: ${errorText(err)}`, "danger");
  }
}
