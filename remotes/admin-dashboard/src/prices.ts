// Pure rules of the price table: how a rate is typed and shown.

/** A typed rate: a number of US dollars per million tokens (a leading $ allowed), `null` for
 * empty ("unknown"), `undefined` when it is not a price. */
export function parseRate(text: string): number | null | undefined {
  const trimmed = text.trim().replace(/^\$/, "");
  if (trimmed === "" || /^(unknown|-)$/i.test(trimmed)) return null;
  if (!/^\d+(\.\d+)?$|^\.\d+$/.test(trimmed)) return undefined;
  return Number(trimmed);
}

/** "$0.15", or "—" when unknown. */
export function formatRate(rate: number | null): string {
  return rate === null ? "—" : `$${rate}`;
}
