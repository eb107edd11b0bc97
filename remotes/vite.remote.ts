// How every remote is built as a Module Federation remote for the shell
// (each remotes/<name>/vite.config.ts is `remoteConfig(its folder)`):
// - an ES-module remoteEntry.js (the shell registers remotes with type "module");
// - every shared package comes from the shell (`import: false`): one React,
//   one UI kit, one host client, one bus; the ranges are the ones remote.json
//   declares, so what the registry checks is what the runtime asks for;
// - base "./": chunks load relative to remoteEntry.js, so the bundle works
//   under mfe://localhost/<name>/<version>/ (no absolute URL baked in);
// - remote.json is copied into dist/ for `augment publish`.
import { readFileSync } from "node:fs";
import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";
import { federation } from "@module-federation/vite";

interface RemoteJson {
  name: string;
  version: string;
  entry: string;
  shared: Record<string, string>;
  exposes: string[];
}


/** The shell's copies, never a local fallback. `react/jsx-runtime` follows react's range. */
function sharedFromShell(ranges: Record<string, string>) {
  const withJsx = { ...ranges, ...(ranges.react ? { "react/jsx-runtime": ranges.react } : {}) };
  return Object.fromEntries(
    Object.entries(withJsx).map(([name, requiredVersion]) => [name, { singleton: true, import: false as const, requiredVersion }]),
  );
}

function emitRemoteJson(manifestText: string): Plugin {
  return {
    name: "augment-remote-json",
    generateBundle() {
      this.emitFile({ type: "asset", fileName: "remote.json", source: manifestText });
    },
  };
}

/** The Vite config of the remote in `remoteDir` (its remote.json names it, its entry and its shared ranges). */
export function remoteConfig(remoteDir: URL) {
  const manifestText = readFileSync(new URL("remote.json", remoteDir), "utf8");
  const manifest = JSON.parse(manifestText) as RemoteJson;
  return defineConfig({
    root: remoteDir.pathname,
    base: "./",
    plugins: [
      react(),
      federation({
        name: manifest.name.replace(/-/g, "_"),
        filename: manifest.entry,
        exposes: { "./App": "./src/App.tsx" },
        shared: sharedFromShell(manifest.shared),
        dts: false,
        manifest: false,
      }),
      emitRemoteJson(manifestText),
    ],
    build: {
      outDir: "dist",
      emptyOutDir: true,
      target: "es2022",
      assetsInlineLimit: 0,
      modulePreload: false,
      minify: true,
      // No index.html: a remote is only ever loaded by the shell. The exposed
      // module is the build's input; the plugin adds remoteEntry.js.
      rollupOptions: { input: { app: "./src/App.tsx" } },
    },
  });
}
