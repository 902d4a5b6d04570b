/** The public surface: exactly these names, the same from `import` and `require`. */

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as esm from "gatewayz-js-hf";
import { describe, expect, it } from "vitest";

const PUBLIC = [
  "APIConnectionError",
  "APIStatusError",
  "APIStreamError",
  "APITimeoutError",
  "APIUserAbortError",
  "AuthenticationError",
  "BadRequestError",
  "ConflictError",
  "DEFAULT_BASE_URL",
  "DEFAULT_MAX_RETRIES",
  "DEFAULT_TIMEOUT_MS",
  "GatewayzClient",
  "GatewayzError",
  "INITIAL_RETRY_DELAY_MS",
  "InsufficientCreditsError",
  "InternalServerError",
  "MAX_RETRY_DELAY_MS",
  "NotFoundError",
  "PermissionDeniedError",
  "RateLimitError",
  "Stream",
  "UnprocessableEntityError",
  "VERSION",
  "createClient",
];

describe("public surface", () => {
  it("the ESM build exports exactly the public names", () => {
    expect(Object.keys(esm).sort()).toEqual([...PUBLIC].sort());
  });

  it("the CommonJS build exports the same names", () => {
    const cjs = createRequire(import.meta.url)("../dist/cjs/index.js") as Record<string, unknown>;
    expect(Object.keys(cjs).filter((k) => k !== "__esModule").sort()).toEqual([...PUBLIC].sort());
  });

  it("the error classes form the documented tree", () => {
    const statusErrors = [
      esm.BadRequestError,
      esm.AuthenticationError,
      esm.InsufficientCreditsError,
      esm.PermissionDeniedError,
      esm.NotFoundError,
      esm.ConflictError,
      esm.UnprocessableEntityError,
      esm.RateLimitError,
      esm.InternalServerError,
    ];
    for (const E of statusErrors) expect(E.prototype).toBeInstanceOf(esm.APIStatusError);
    expect(esm.APIStatusError.prototype).toBeInstanceOf(esm.GatewayzError);
    expect(esm.APITimeoutError.prototype).toBeInstanceOf(esm.APIConnectionError);
    for (const E of [esm.APIConnectionError, esm.APIStreamError, esm.APIUserAbortError]) {
      expect(E.prototype).toBeInstanceOf(esm.GatewayzError);
    }
    expect(new esm.NotFoundError(404, "gone").name).toBe("NotFoundError");
  });

  it("the version matches package.json", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    expect(esm.VERSION).toBe(pkg.version);
  });
});
