import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The shell is served by Tauri from shell-ui/dist (embedded at build time).
// No dev server is configured in tauri.conf.json: the app always runs the
// built UI, so what the tests drive is what ships.
export default defineConfig({
  plugins: [react()],
  base: "./",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // Tauri's CSP has no 'unsafe-inline': keep every script and style in files.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
