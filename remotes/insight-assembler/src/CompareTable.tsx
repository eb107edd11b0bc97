// The same page of responses regrouped by record: one row per record, one
// column per model present on the page, so the answers sit side by side; a
// long answer opens whole in the table's drawer. Only the record column
// sorts (in Rust, over every matching response): any other order would
// scatter a record's answers over several pages.
import { DataTable, type Column, type TableSort } from "@augment-it/ui-kit";
import type { ResponseRow } from "@augment-it/host-client";
import { answerText, compareByRecord, modelsOf, recordSummary, type ComparedRecord } from "./logic";

export interface CompareTableProps {
  rows: ResponseRow[];
  /** The query's order: by record (either way) or none. */
  sort: TableSort | null;
  onSortChange: (next: TableSort | null) => void;
}

export function CompareTable({ rows, sort, onSortChange }: CompareTableProps) {
  const models = modelsOf(rows);
  const columns: Column<ComparedRecord>[] = [
    {
      key: "record",
      header: "Record",
      width: "1.5fr",
      sortable: true,
      render: (c) => (
        <span data-record-id={c.recordId} title={recordSummary(c.record)}>
          {recordSummary(c.record)}
        </span>
      ),
      detail: (c) => recordSummary(c.record),
    },
    ...models.map(
      (model): Column<ComparedRecord> => ({
        key: `model-${model}`,
        header: model,
        width: "2fr",
        detail: (c) => (c.answers[model] ? answerText(c.answers[model]) : null),
        render: (c) => {
          const answer = c.answers[model];
          if (!answer) return <span className="aui-muted">no answer</span>;
          return (
            <span data-response-id={answer.response_id} className={answer.text === null ? "aui-field-error" : undefined} title={answerText(answer)}>
              {answerText(answer)}
            </span>
          );
        },
      }),
    ),
  ];
  return <DataTable label="Compare models" columns={columns} rows={compareByRecord(rows)} rowKey={(c) => String(c.recordId)} sort={{ by: sort, onChange: onSortChange }} />;
}
