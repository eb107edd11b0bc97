// The responses next to their records, one row each, with a checkbox for
// tagging and an Edit button for group and note.
import { Badge, Button, DataTable, type Column } from "@augment-it/ui-kit";
import type { ResponseRow } from "@augment-it/host-client";
import { answerText, modelKey, recordSummary } from "./logic";

export interface ResponsesTableProps {
  rows: ResponseRow[];
  selected: Set<number>;
  onToggle: (responseId: number) => void;
  onEdit: (row: ResponseRow) => void;
}

export function ResponsesTable({ rows, selected, onToggle, onEdit }: ResponsesTableProps) {
  const columns: Column<ResponseRow>[] = [
    {
      key: "select",
      header: "",
      width: "32px",
      render: (r) => (
        <input type="checkbox" aria-label={`Select response ${r.response_id}`} checked={selected.has(r.response_id)} onChange={() => onToggle(r.response_id)} />
      ),
    },
    {
      key: "record",
      header: "Record",
      width: "1.5fr",
      render: (r) => (
        <span data-response-id={r.response_id} title={recordSummary(r.record)}>
          {recordSummary(r.record)}
        </span>
      ),
    },
    { key: "model", header: "Model", width: "1fr", render: (r) => modelKey(r) },
    {
      key: "answer",
      header: "Answer",
      width: "3fr",
      render: (r) =>
        r.text === null ? (
          <span className="aui-field-error" data-error={r.error_code ?? "error"}>
            {answerText(r)}
          </span>
        ) : (
          <span title={r.text}>{r.text}</span>
        ),
    },
    { key: "tokens", header: "Tokens", width: "80px", render: (r) => `${r.input_tokens ?? "?"}/${r.output_tokens ?? "?"}` },
    {
      key: "tags",
      header: "Tags",
      width: "1fr",
      render: (r) => r.tags.map((tag) => <Badge key={tag} tone="neutral">{tag}</Badge>),
    },
    { key: "group", header: "Group", width: "0.8fr", render: (r) => r.group ?? "" },
    { key: "note", header: "Note", width: "1fr", render: (r) => <span title={r.note ?? ""}>{r.note ?? ""}</span> },
    { key: "edit", header: "", width: "60px", render: (r) => <Button onClick={() => onEdit(r)}>Edit</Button> },
  ];
  return <DataTable label="Responses" columns={columns} rows={rows} rowKey={(r) => String(r.response_id)} />;
}
