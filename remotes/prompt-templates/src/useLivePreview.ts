// The live check and preview of the body being edited: after the typing
// settles (250 ms) it asks the shell which fields are missing and how the
// chosen record renders. A newer body cancels the older request's reply, so
// a slow answer never overwrites a fresher one. An empty body is not
// checked: an editor that opens in red before anything is typed says
// "you did something wrong" to someone who has done nothing yet.
import { useEffect, useState } from "react";
import { call } from "@augment-it/host-client";
import { errorText } from "./logic";

export const DEBOUNCE_MS = 250;

export interface LivePreview {
  missing: string[];
  warning: string | null;
  preview: string | null;
  previewError: string | null;
  checkError: string | null;
}

const EMPTY: LivePreview = { missing: [], warning: null, preview: null, previewError: null, checkError: null };

export function useLivePreview(body: string, datasetId: number, recordId: number | null): LivePreview {
  const [state, setState] = useState<LivePreview>(EMPTY);

  useEffect(() => {
    // Nothing typed yet is not an error: the check and the preview start with the first character.
    if (body.trim() === "") {
      setState(EMPTY);
      return;
    }
    let stale = false;
    const timer = setTimeout(() => {
      void call("check_template", { body, datasetId }).then(
        (check) => !stale && setState((s) => ({ ...s, missing: check.missing_fields, warning: check.warning, checkError: null })),
        (err) => !stale && setState((s) => ({ ...s, missing: [], warning: null, checkError: errorText(err) })),
      );
      if (recordId === null) {
        setState((s) => ({ ...s, preview: null, previewError: null }));
        return;
      }
      void call("preview_template", { body, recordId }).then(
        (text) => !stale && setState((s) => ({ ...s, preview: text, previewError: null })),
        (err) => !stale && setState((s) => ({ ...s, preview: null, previewError: errorText(err) })),
      );
    }, DEBOUNCE_MS);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [body, datasetId, recordId]);

  return state;
}
