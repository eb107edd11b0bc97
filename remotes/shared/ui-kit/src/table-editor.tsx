// The inline editor of one cell: Enter commits, Escape cancels (the table
// restores the focus to the cell). A multi-line value gets a textarea that
// opens over the rows below (Shift+Enter for a new line), since a row keeps
// its fixed height for the virtualiser.
import { useEffect, useRef, useState, type KeyboardEvent } from "react";

export interface CellEditorProps {
  initial: string;
  label: string;
  multiline: boolean;
  saving: boolean;
  error: string | null;
  onCommit: (text: string) => void;
  onCancel: () => void;
}

export function CellEditor({ initial, label, multiline, saving, error, onCommit, onCancel }: CellEditorProps) {
  const [text, setText] = useState(initial);
  const field = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  useEffect(() => {
    field.current?.focus();
    field.current?.select();
  }, []);

  function onKeyDown(event: KeyboardEvent) {
    // The cell around listens for navigation keys: none of the editor's keys are its business.
    event.stopPropagation();
    if (event.key === "Escape") {
      event.preventDefault();
      onCancel();
    } else if (event.key === "Enter" && !(multiline && event.shiftKey)) {
      event.preventDefault();
      if (!saving) onCommit(text);
    }
  }

  const common = {
    ref: field,
    className: "aui-table-editor",
    "aria-label": label,
    "aria-invalid": error ? true : undefined,
    "data-testid": "aui-cell-editor",
    value: text,
    readOnly: saving,
    onKeyDown,
    // A double-click inside the editor selects words; it must not start another edit.
    onDoubleClick: (event: React.MouseEvent) => event.stopPropagation(),
  };
  return multiline ? (
    <textarea {...common} data-multiline="true" rows={6} onChange={(event) => setText(event.target.value)} />
  ) : (
    <input {...common} onChange={(event) => setText(event.target.value)} />
  );
}
