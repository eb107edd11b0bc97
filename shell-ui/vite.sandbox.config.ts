import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// The page sandboxed remotes run in (sandbox/main.tsx), built into
// dist/sandbox and served by Rust at mfe://localhost/@sandbox/. It has no
// Tauri internals: host-client's `invoke` and `listen` resolve to the
// postMessage bridge instead of @tauri-apps/api.
export default defineConfig({
  plugins: [react()],
  root: here("./sandbox"),
  base: "./",
  resolve: {
    alias: {
      "@tauri-apps/api/core": here("./sandbox/bridge-core.ts"),
      "@tauri-apps/api/event": here("./sandbox/bridge-event.ts"),
    },
  },
  build: {
    outDir: here("./dist/sandbox"),
    emptyOutDir: true,
    target: "es2022",
    // The sandbox's CSP has no 'unsafe-inline' either.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
