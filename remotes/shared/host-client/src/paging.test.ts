import { describe, expect, it } from "vitest";
import { everyItem, FIRST_PAGE, listKey, nextPage, PAGING_START, positionIn, previousPage, settled, type CursorPage, type Paging } from "./paging";

const rows = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("keyset paging of a table", () => {
  it("goes forward by next_cursor, counting rows for the label, and stops on the last page", () => {
    const first: CursorPage = { items: rows(100), next_cursor: "after:a" };
    const second = nextPage(FIRST_PAGE, first);
    expect(second).toEqual({ cursor: "after:a", first: 100 });
    const last: CursorPage = { items: rows(30), previous_cursor: "before:b" };
    expect(nextPage(second!, last)).toBeNull();
  });

  it("goes back by previous_cursor, and from an orphaned page to the first one", () => {
    const at = { cursor: "after:b", first: 200 };
    expect(previousPage(at, { items: rows(100), previous_cursor: "before:c" }, 100)).toEqual({ cursor: "before:c", first: 100 });
    expect(previousPage(FIRST_PAGE, { items: rows(100), next_cursor: "after:a" }, 100)).toBeNull();
    // Back by a cursor to rows with nothing before them: the first page, with no way further back.
    expect(previousPage({ cursor: "before:c", first: 0 }, { items: rows(100), next_cursor: "after:x" }, 100)).toBeNull();
    // The rows before an empty page were deleted: it has no previous cursor, the first page is the way back.
    expect(previousPage(at, { items: [] }, 100)).toBe(FIRST_PAGE);
  });

  it("settles a page with nothing before it as the first, whatever the count said", () => {
    const at = { cursor: "before:c", first: 100 };
    expect(settled(at, { items: rows(60), next_cursor: "after:x" })).toEqual({ cursor: "before:c", first: 0 });
    expect(settled(at, { items: rows(100), previous_cursor: "before:d", next_cursor: "after:x" })).toBe(at);
    expect(settled(FIRST_PAGE, { items: rows(10) })).toBe(FIRST_PAGE);
  });

  it("starts again from the first page when the filters or the sort change", () => {
    const list = listKey({ status: "pending" }, { column: "model", descending: false });
    const paging: Paging = { list, at: { cursor: "after:z", first: 300 } };
    expect(positionIn(paging, list)).toEqual({ cursor: "after:z", first: 300 });
    expect(positionIn(paging, listKey({ status: "approved" }, { column: "model", descending: false }))).toBe(FIRST_PAGE);
    expect(positionIn(paging, listKey({ status: "pending" }, { column: "model", descending: true }))).toBe(FIRST_PAGE);
    expect(positionIn(paging, listKey({ status: "pending" }, null))).toBe(FIRST_PAGE);
    // A reset (the same filter applied again) is the first page of any list.
    expect(positionIn(PAGING_START, list)).toBe(FIRST_PAGE);
  });

  it("collects every item of a list by following the cursors", async () => {
    const pages: Record<string, CursorPage<number>> = {
      first: { items: [1, 2], next_cursor: "after:2" },
      "after:2": { items: [3, 4], next_cursor: "after:4", previous_cursor: "before:3" },
      "after:4": { items: [5], previous_cursor: "before:5" },
    };
    const asked: (string | null)[] = [];
    const all = await everyItem(async (cursor) => (asked.push(cursor), pages[cursor ?? "first"]));
    expect(all).toEqual([1, 2, 3, 4, 5]);
    expect(asked).toEqual([null, "after:2", "after:4"]);
  });
});
