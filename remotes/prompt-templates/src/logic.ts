// Pure rules of the Prompt Template Manager: inserting a field placeholder
// where the cursor is, the event payload for a template, and error wording.
import { HostError, type Template } from "@augment-it/host-client";
import type { AugmentEvents } from "@augment-it/messaging";

/** The minijinja placeholder for a record field. */
export function placeholder(column: string): string {
  return `{{ ${column} }}`;
}

/**
 * `body` with the placeholder of `column` replacing the selection
 * `start..end` (the end of the body when there is no selection), and where
 * the cursor goes after it.
 */
export function insertField(body: string, column: string, start?: number | null, end?: number | null): { body: string; cursor: number } {
  const from = clamp(start ?? body.length, body.length);
  const to = Math.max(from, clamp(end ?? from, body.length));
  const text = placeholder(column);
  return { body: body.slice(0, from) + text + body.slice(to), cursor: from + text.length };
}

function clamp(n: number, max: number): number {
  return Math.min(Math.max(0, n), max);
}

/** The "template.selected" payload for a template's current version. */
export function selectionOf(template: Template): AugmentEvents["template.selected"] {
  return { templateId: template.id, versionId: template.current.id, version: template.current.version, name: template.name };
}

/** A failed command in words: the shell's message and its code. */
export function errorText(err: unknown): string {
  if (err instanceof HostError) return `${err.message} (${err.code})`;
  return err instanceof Error ? err.message : String(err);
}

/** Parses the "record #" input (1-based) into a 0-based offset, or null when it is not a positive whole number. */
export function recordOffset(text: string): number | null {
  const n = Number(text);
  return Number.isInteger(n) && n >= 1 ? n - 1 : null;
}

/** Why a schema being typed is not JSON yet (the JSON parser's words), or null when it is JSON or empty. Rust checks the rest when it is saved. */
export function schemaSyntaxProblem(text: string): string | null {
  if (text.trim() === "") return null;
  try {
    JSON.parse(text);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
