// WebKitGTK gives the page the process's locale as its language; under a C
// or POSIX locale (no LANG: a bare X session, a service, CI) that is "C",
// which is no BCP 47 tag, so every Intl constructor given navigator.language
// throws. uPlot builds its number format that way when it is imported, and a
// throw there stopped the whole shell from starting. The page's language
// becomes the first valid tag it has, else "en-US". Imported first by the
// shell page and the sandbox page, so it runs before any other module.

function isLanguageTag(tag: string): boolean {
  try {
    return Intl.getCanonicalLocales(tag).length === 1;
  } catch {
    return false;
  }
}

/** Gives `nav` a valid `language` (and `languages`) when it has none; returns the language used. */
export function repairNavigatorLanguage(nav: Pick<Navigator, "language" | "languages">): string {
  if (isLanguageTag(nav.language)) return nav.language;
  const valid = (nav.languages ?? []).filter(isLanguageTag);
  const language = valid[0] ?? "en-US";
  Object.defineProperty(nav, "language", { value: language, configurable: true });
  Object.defineProperty(nav, "languages", { value: Object.freeze(valid.length > 0 ? valid : [language]), configurable: true });
  return language;
}

if (typeof navigator !== "undefined") repairNavigatorLanguage(navigator);
