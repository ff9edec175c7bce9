import { defineConfig } from "vite";

// Relative asset paths: the same build is served by Tauri's custom protocol and
// by `hilum serve` for the browser tests. No remote URLs, ever.
export default defineConfig({
  base: "./",
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
