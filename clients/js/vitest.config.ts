import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // The tests exercise the BUILT package (npm test builds first), not the sources.
    alias: { "gatewayz-js-hf": fileURLToPath(new URL("./dist/esm/index.js", import.meta.url)) },
  },
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 90_000,
    // Two cores are plenty: the work is in the gateway and its models.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
