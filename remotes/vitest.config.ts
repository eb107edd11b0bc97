// One vitest run for every remote, shared module and the shell's UI (`npm
// run test:remotes` at the workspace root, also run by `cargo xtask test`).
// Each package is its own project with a DOM (happy-dom); tests import the
// shared modules from source, as the shell bundles them. The remotes' Module
// Federation plugin is left out here: it only matters for the build, which
// the shell's e2e test covers.
import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

const packages = ["shared/ui-kit", "shared/host-client", "shared/messaging", "admin-dashboard", "record-collector", "prompt-templates", "request-reviewer", "insight-assembler", "../shell-ui"];

export default defineConfig({
  test: {
    projects: packages.map((dir) => ({
      plugins: [react()],
      test: {
        name: dir.replace(/^(shared|\.\.)\//, ""),
        root: new URL(`./${dir}`, import.meta.url).pathname,
        environment: "happy-dom",
        // A test waits on several deadlines of up to 5 s each (vitest.setup.ts).
        testTimeout: 20_000,
        include: ["src/**/*.test.{ts,tsx}"],
        setupFiles: [new URL("./vitest.setup.ts", import.meta.url).pathname],
      },
    })),
  },
});
