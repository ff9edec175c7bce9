import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist", "node_modules"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["e2e/**/*.mjs"],
    languageOptions: {
      globals: { document: "readonly", window: "readonly", performance: "readonly", process: "readonly", console: "readonly", setTimeout: "readonly", fetch: "readonly", Buffer: "readonly", URL: "readonly" },
    },
  },
);
