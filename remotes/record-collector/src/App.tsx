// The Record Collector: import documents (with a preview, column types and
// errors naming line and column) or a data store's table (NocoDB, Airtable,
// Databricks, with a column mapping), the saved datasets, and one page at a time
// of the selected dataset's records to filter and edit. Selecting a dataset
// tells the other remotes through "dataset.selected" on the shell's bus.
import { useCallback, useEffect, useState } from "react";
import { call, type Dataset } from "@augment-it/host-client";
import { shellBus, useLastEvent } from "@augment-it/messaging";
import { ErrorState, Page } from "@augment-it/ui-kit";
import { DatastoreImport } from "./DatastoreImport";
import { Datasets } from "./Datasets";
import { ImportForm } from "./ImportForm";
import { errorText } from "./logic";
import { Records } from "./Records";

/** What the shell passes to every remote (shell-ui/src/federation.ts HostApi). */
export interface RecordCollectorProps {
  host?: { hostApiVersion: string; remote: { name: string; version: string } };
}

export default function RecordCollector(_props: RecordCollectorProps) {
  // null until the shell has listed them: no "No datasets yet" before its answer.
  const [datasets, setDatasets] = useState<Dataset[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const lastSelected = useLastEvent("dataset.selected");
  const selectedId = lastSelected?.datasetId ?? null;
  const selected = datasets?.find((d) => d.id === selectedId) ?? null;

  const reload = useCallback(async () => {
    try {
      setDatasets(await call("list_datasets"));
      setLoadError(null);
    } catch (err) {
      setLoadError(errorText(err));
    }
  }, []);

  useEffect(() => {
    void reload();
  }, [reload]);

  const select = useCallback((dataset: Dataset) => {
    shellBus().emit("dataset.selected", { datasetId: dataset.id, name: dataset.name });
  }, []);

  async function saved(dataset: Dataset) {
    await reload();
    select(dataset);
  }

  return (
    <Page title="Record Collector">
      <ImportForm onSaved={(d) => void saved(d)} />
      <DatastoreImport onImported={(d) => void saved(d)} />
      {loadError && <ErrorState title="Could not list the datasets" detail={loadError} onRetry={() => void reload()} />}
      {datasets ? (
        <Datasets datasets={datasets} selectedId={selectedId} onSelect={select} onDeleted={() => void reload()} onRestored={(d) => void saved(d)} />
      ) : (
        !loadError && (
          <section aria-label="Datasets">
            <h2>Datasets</h2>
            <p className="aui-muted" role="status">
              Loading datasets…
            </p>
          </section>
        )
      )}
      {selected && <Records key={selected.id} dataset={selected} />}
    </Page>
  );
}
