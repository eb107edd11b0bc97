// What the editor needs from the selected dataset: its columns (for the
// chips) and the id of the record the preview renders (one row, never more).
import { useEffect, useState } from "react";
import { call, type Column } from "@augment-it/host-client";
import { errorText } from "./logic";

export function useColumns(datasetId: number): { columns: Column[]; error: string | null } {
  const [state, setState] = useState<{ columns: Column[]; error: string | null }>({ columns: [], error: null });
  useEffect(() => {
    let stale = false;
    call("list_datasets").then(
      (datasets) => {
        if (stale) return;
        const dataset = datasets.find((d) => d.id === datasetId);
        setState(
          dataset
            ? { columns: dataset.columns, error: null }
            : { columns: [], error: "The selected dataset no longer exists: pick another one in the Record Collector." },
        );
      },
      (err) => !stale && setState({ columns: [], error: errorText(err) }),
    );
    return () => {
      stale = true;
    };
  }, [datasetId]);
  return state;
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
          error: row ? null : `The dataset has ${page.total} records: choose a number from 1 to ${page.total}.`,
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
