// Keyset paging of the shell's lists (host API 1.7.0: `dataset_records`,
// `list_requests` and `list_responses` take a `cursor` and return the
// `next_cursor` / `previous_cursor` beside a page), so a page deep in
// 100,000 rows costs what the first does. A remote using these must require
// host API ^1.7.0 in remote.json: a shell with those commands is one whose
// host-client has these helpers.
//
// A table keeps a `Paging`: which list it shows (its filters and sort, as
// `listKey` text) and where in it. The position only holds for that list:
// once the filters or sort change, `positionIn` answers the first page, so
// no screen can send a cursor of another list (Rust would refuse it).

/** What the helpers read of a page (host-client's `Page`). */
export interface CursorPage<T = unknown> {
  items: T[];
  next_cursor?: string | null;
  previous_cursor?: string | null;
}

/** A page of a list: its cursor (`null`: the first page) and the 0-based row number of its first row, for the "rows a–b of N" label. */
export interface PagePosition {
  readonly cursor: string | null;
  readonly first: number;
}

export const FIRST_PAGE: PagePosition = { cursor: null, first: 0 };

/** Where a table is, in which list. */
export interface Paging {
  readonly list: string;
  readonly at: PagePosition;
}

/** A table's paging before it moved, and after a reset: the first page of any list. */
export const PAGING_START: Paging = { list: "", at: FIRST_PAGE };

/** The text that names a list: everything that decides its rows and their order (filters, sort), not the page. */
export function listKey(...parts: unknown[]): string {
  return JSON.stringify(parts);
}

/** The position in `list`: where `paging` is if it is that list, else its first page. */
export function positionIn(paging: Paging, list: string): PagePosition {
  return paging.list === list ? paging.at : FIRST_PAGE;
}

/** The page after `page` (shown at `at`); `null` on the last page. */
export function nextPage(at: PagePosition, page: CursorPage): PagePosition | null {
  if (!page.next_cursor) return null;
  return { cursor: page.next_cursor, first: at.first + page.items.length };
}

/**
 * The page before `page` (shown at `at`, pages of `pageSize`); `null` on the
 * first page, however it was reached. An empty page after a cursor (the
 * rows it followed were deleted) has no `previous_cursor`: the first page is
 * the way back.
 */
export function previousPage(at: PagePosition, page: CursorPage, pageSize: number): PagePosition | null {
  if (at.cursor === null) return null;
  if (page.previous_cursor) return { cursor: page.previous_cursor, first: Math.max(0, at.first - pageSize) };
  return page.items.length === 0 ? FIRST_PAGE : null;
}

/**
 * Where a page that arrived really is: a page with nothing before it is the
 * first, whatever the count said (rows before it were deleted meanwhile).
 */
export function settled(at: PagePosition, page: CursorPage): PagePosition {
  return at.cursor !== null && !page.previous_cursor && page.items.length > 0 ? { ...at, first: 0 } : at;
}

/** Every item of a list, page after page by cursor (never an offset scan): "all N matching" of a selection. */
export async function everyItem<T>(page: (cursor: string | null) => Promise<CursorPage<T>>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  for (;;) {
    const got: CursorPage<T> = await page(cursor);
    items.push(...got.items);
    if (!got.next_cursor) return items;
    cursor = got.next_cursor;
  }
}
