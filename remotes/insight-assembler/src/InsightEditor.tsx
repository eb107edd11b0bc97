// Editing one response's tags, group and note (`set_insight`).
import { useState } from "react";
import { call, type ResponseRow } from "@augment-it/host-client";
import { Button, TextField } from "@augment-it/ui-kit";
import { describeError, parseTags } from "./logic";

export function InsightEditor({ row, onDone, onCancel }: { row: ResponseRow; onDone: () => void; onCancel: () => void }) {
  const [tags, setTags] = useState(row.tags.join(", "));
  const [group, setGroup] = useState(row.group ?? "");
  const [note, setNote] = useState(row.note ?? "");
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const save = async () => {
    setSaving(true);
    try {
      const insight = { tags: parseTags(tags), group: group.trim() || null, note: note.trim() || null };
      await call("set_insight", { responseId: row.response_id, insight });
      onDone();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setSaving(false);
    }
  };

  return (
    <div className="ia-editor" aria-label={`Insight for response ${row.response_id}`}>
      <strong>Response {row.response_id}</strong>
      <TextField label="Tags (comma-separated)" value={tags} onChange={setTags} />
      <TextField label="Group" value={group} onChange={setGroup} />
      <label className="aui-field">
        <span>Note</span>
        <textarea rows={3} value={note} onChange={(e) => setNote(e.target.value)} />
      </label>
      {error && (
        <p className="aui-field-error" role="alert">
          {error}
        </p>
      )}
      <Button variant="primary" disabled={saving} onClick={() => void save()}>
        Save insight
      </Button>
      <Button onClick={onCancel}>Cancel</Button>
    </div>
  );
}
