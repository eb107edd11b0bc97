import { useState } from "react";
import { Button } from "./layout";

export type Theme = "light" | "dark";

/** The theme is one attribute on <html>: every kit colour is a CSS variable keyed on it. */
export function applyTheme(theme: Theme, root: HTMLElement = document.documentElement) {
  root.dataset.theme = theme;
}

export function currentTheme(root: HTMLElement = document.documentElement): Theme {
  if (root.dataset.theme === "dark" || root.dataset.theme === "light") return root.dataset.theme;
  return typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export function ThemeToggle() {
  const [theme, setTheme] = useState<Theme>(() => currentTheme());
  const next: Theme = theme === "dark" ? "light" : "dark";
  return (
    <Button
      aria-label={`Switch to ${next} theme`}
      onClick={() => {
        applyTheme(next);
        setTheme(next);
      }}
    >
      {theme === "dark" ? "Light" : "Dark"} theme
    </Button>
  );
}
