// The theme (issue 16, point 5): chosen in the header, saved with the last
// screen (ui.json), following the OS while the choice is "system". It is one
// attribute on <html> (the UI kit's variables key on it), which reaches every
// remote in the shell page; sandboxed remotes get it by message (SandboxFrame).
import { createContext, useEffect, useState } from "react";
import { applyTheme, type Theme } from "@augment-it/ui-kit";
import type { ThemeChoice } from "./ipc";

const DARK_QUERY = "(prefers-color-scheme: dark)";

export function resolveTheme(choice: ThemeChoice, osPrefersDark: boolean): Theme {
  if (choice === "system") return osPrefersDark ? "dark" : "light";
  return choice;
}

function osPrefersDark(): boolean {
  return typeof matchMedia === "function" && matchMedia(DARK_QUERY).matches;
}

/** Applies `choice` to the page and follows the OS while it is "system"; returns the theme in effect. */
export function useAppliedTheme(choice: ThemeChoice): Theme {
  const [prefersDark, setPrefersDark] = useState(osPrefersDark);
  useEffect(() => {
    if (typeof matchMedia !== "function") return;
    const query = matchMedia(DARK_QUERY);
    const follow = () => setPrefersDark(query.matches);
    query.addEventListener("change", follow);
    return () => query.removeEventListener("change", follow);
  }, []);
  const theme = resolveTheme(choice, prefersDark);
  useEffect(() => applyTheme(theme), [theme]);
  return theme;
}

/** The theme in effect, for sandboxed frames (which have their own document). */
export const ThemeContext = createContext<Theme>("light");
