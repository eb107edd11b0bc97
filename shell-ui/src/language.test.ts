import { describe, expect, it } from "vitest";
import { repairNavigatorLanguage } from "./language";

const nav = (language: string, languages: string[]) => ({ language, languages: Object.freeze(languages) }) as Pick<Navigator, "language" | "languages">;

describe("the page's language", () => {
  it("stays as it is when it is a valid tag", () => {
    const german = nav("de-DE", ["de-DE", "en"]);
    expect(repairNavigatorLanguage(german)).toBe("de-DE");
    expect(german.languages).toEqual(["de-DE", "en"]);
  });

  it("under a C locale becomes the first valid tag, else en-US, so Intl accepts it", () => {
    const c = nav("C", ["C"]);
    expect(() => new Intl.NumberFormat(c.language)).toThrow(RangeError);
    expect(repairNavigatorLanguage(c)).toBe("en-US");
    expect(c.language).toBe("en-US");
    expect(c.languages).toEqual(["en-US"]);
    expect(() => new Intl.NumberFormat(c.language)).not.toThrow();

    const cUtf8ThenFrench = nav("C.UTF-8", ["C.UTF-8", "fr-FR"]);
    expect(repairNavigatorLanguage(cUtf8ThenFrench)).toBe("fr-FR");
  });
});
