// What the editor needs from the selected dataset: its columns (for the
// chips) and the id of the record the preview renders (one row, never more).
import { useCallback, useEffect, useState } from "react";
import { call, type Column } from "@augment-it/host-client";
import { errorText } from "./logic";

export interface Columns {
  columns: Column[];
  /** True until the shell has answered for this dataset. */
  loading: boolean;
  error: string | null;
  /** Asks again (after an error). */
  retry: () => void;
}

export function useColumns(datasetId: number): Columns {
  // `of` is the dataset the answer is for: another dataset's columns are never shown as this one's.
  const [state, setState] = useState<{ of: number | null; columns: Column[]; error: string | null }>({ of: null, columns: [], error: null });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let stale = false;
    call("list_datasets").then(
      (datasets) => {
        if (stale) return;
        const dataset = datasets.find((d) => d.id === datasetId);
        setState(
          dataset
            ? { of: datasetId, columns: dataset.columns, error: null }
            : { of: datasetId, columns: [], error: "The selected dataset no longer exists: pick another one in the Record Collector." },
        );
      },
      (err) => !stale && setState({ of: datasetId, columns: [], error: errorText(err) }),
    );
    return () => {
      stale = true;
    };
  }, [datasetId, attempt]);
  const retry = useCallback(() => {
    setState((s) => ({ ...s, of: null, error: null }));
    setAttempt((n) => n + 1);
  }, []);
  const loading = state.of !== datasetId;
  return { columns: loading ? [] : state.columns, loading, error: loading ? null : state.error, retry };
}

export type RecordPick = { recordId: number | null; total: number | null; error: string | null };

export function useRecordAt(datasetId: number, offset: number | null): RecordPick {
  const [pick, setPick] = useState<RecordPick>({ recordId: null, total: null, error: null });
  useEffect(() => {
    if (offset === null) {
      setPick((p) => ({ ...p, recordId: null, error: "Enter a record number from 1 up." }));
      return;
    }
    let stale = false;
    call("dataset_records", { datasetId, query: { offset, limit: 1 } }).then(
      (page) => {
        if (stale) return;
        const row = page.items[0];
        setPick({
          recordId: row ? row.id : null,
          total: page.total,
          error: row
            ? null
            : page.total === 0
              ? "The dataset has no records to preview: import some in the Record Collector."
              : `The dataset has ${page.total} records: choose a number from 1 to ${page.total}.`,
        });
      },
      (err) => !stale && setPick({ recordId: null, total: null, error: errorText(err) }),
    );
    return () => {
      stale = true;
    };
  }, [datasetId, offset]);
  return pick;
}
