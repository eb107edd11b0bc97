// Helpers shared by the vitest suites of the remotes and the shell UI.

/** A reply held until the test resolves or rejects it (Node 20 has no Promise.withResolvers). */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * A page of a list of `total` rows (`row(i)` makes the i-th) as the shell's
 * list commands answer one (host API 1.7.0): `limit` rows from `cursor`, a
 * page's `next_cursor` ("after:<index of its last row>") or
 * `previous_cursor` ("before:<index of its first row>"), or the first page
 * without one; anything else is refused as Rust refuses it.
 */
export function keysetPage<T>(total: number, limit: number, cursor: unknown, row: (i: number) => T) {
  let start = 0;
  let end = Math.min(total, limit);
  if (typeof cursor === "string" && cursor.startsWith("after:")) {
    start = Number(cursor.slice("after:".length)) + 1;
    end = Math.min(total, start + limit);
  } else if (typeof cursor === "string" && cursor.startsWith("before:")) {
    end = Number(cursor.slice("before:".length));
    start = Math.max(0, end - limit);
  } else if (cursor !== null && cursor !== undefined) {
    throw { code: "invalidInput", message: "the page cursor does not belong to this list and order: start again from the first page" };
  }
  const items = Array.from({ length: Math.max(0, end - start) }, (_, i) => row(start + i));
  return {
    total,
    items,
    ...(end < total && items.length > 0 ? { next_cursor: `after:${end - 1}` } : {}),
    ...(start > 0 && items.length > 0 ? { previous_cursor: `before:${start}` } : {}),
  };
}
