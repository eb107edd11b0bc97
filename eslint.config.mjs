// ESLint for the shell UI and the remotes (issue 16, point 7): TypeScript's
// recommended rules, React's rules of hooks, and jsx-a11y's accessibility
// rules. `npm run lint` (run by `cargo xtask test`) fails on any problem.
//
// Of eslint-plugin-react-hooks 7 only the two classic rules are on. Its
// other recommended rules check code for the React Compiler, which this
// project does not use: they flag the "latest callback in a ref" pattern and
// a setState in an effect, both correct without the compiler (28 findings
// on 2026-12-04, none of them a bug). Adopting the compiler would be its own
// change, with those rules.
import js from "@eslint/js";
import globals from "globals";
import jsxA11y from "eslint-plugin-jsx-a11y";
import reactHooks from "eslint-plugin-react-hooks";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "target/**", "tests/fixtures/**", "**/generated/**"] },
  {
    files: ["shell-ui/**/*.{ts,tsx}", "remotes/**/*.{ts,tsx}"],
    extends: [js.configs.recommended, ...tseslint.configs.recommended, jsxA11y.flatConfigs.recommended],
    plugins: { "react-hooks": reactHooks },
    languageOptions: { globals: { ...globals.browser }, ecmaVersion: 2022, sourceType: "module" },
    rules: {
      "react-hooks/rules-of-hooks": "error",
      "react-hooks/exhaustive-deps": "error",
      // `_name` marks an argument a signature needs but the body does not.
      // A table body that scrolls is focusable (axe: scrollable-region-focusable), as a rowgroup.
      "jsx-a11y/no-noninteractive-tabindex": ["error", { tags: [], roles: ["tabpanel", "rowgroup"] }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
);
