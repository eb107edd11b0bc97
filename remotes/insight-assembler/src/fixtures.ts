import type { ResponseRow } from "@augment-it/host-client";

/** A response as the shell serializes it (crates/local-data, snake_case). */
export function response(id: number, recordId: number, provider: string, model: string): ResponseRow {
  return {
    response_id: id,
    request_id: id,
    run_id: 1,
    record_id: recordId,
    record_position: recordId - 10,
    record: { title: `Book ${recordId}` },
    provider,
    model,
    prompt: `Describe Book ${recordId}`,
    text: `Answer ${id} from ${model}`,
    error_code: null,
    error_message: null,
    input_tokens: 12,
    output_tokens: 30,
    started_at: 1,
    finished_at: 2,
    tags: [],
    group: null,
    note: null,
  };
}
