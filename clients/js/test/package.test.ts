/** The package as npm publishes it: what `npm pack` puts in, and a fresh project that
 * installs the tarball, then `require`s it, `import`s it, type-checks against it (CommonJS
 * and ESM), and runs the quick-start example against the live gateway. */

import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gateway } from "./support/context.js";

const run = promisify(execFile);
const PACKAGE = resolve(import.meta.dirname, "..");
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
const manifest = JSON.parse(readFileSync(join(PACKAGE, "package.json"), "utf8")) as {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
};
let work: string;
let consumer: string;

async function node(args: string[], env: Record<string, string> = {}) {
  const { stdout } = await run(process.execPath, args, {
    cwd: consumer,
    env: { ...process.env, GATEWAYZ_BASE_URL: gateway.url, GATEWAYZ_API_KEY: gateway.keys.user, ...env },
  });
  return stdout;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gatewayz-js-pack-"));
  // --ignore-scripts: dist is already built by `npm test` (and other test files use it).
  await run(NPM, ["pack", "--ignore-scripts", "--pack-destination", work], { cwd: PACKAGE });
  consumer = join(work, "consumer");
  mkdirSync(consumer);
  writeFileSync(join(consumer, "package.json"), '{ "name": "consumer", "private": true }\n');
  const tarball = join(work, `${manifest.name}-${manifest.version}.tgz`);
  await run(NPM, ["install", "--offline", "--no-audit", "--no-fund", tarball], { cwd: consumer });
}, 60_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("npm pack", () => {
  it("ships only dist, the manifest and the README, and no runtime dependencies", async () => {
    const { stdout } = await run(NPM, ["pack", "--dry-run", "--json", "--ignore-scripts"], {
      cwd: PACKAGE,
    });
    const [info] = JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>;
    const files = info!.files.map((f) => f.path).sort();
    expect(files).toEqual(
      expect.arrayContaining([
        "package.json",
        "README.md",
        "dist/esm/index.js",
        "dist/esm/index.d.ts",
        "dist/esm/client.js",
        "dist/cjs/index.js",
        "dist/cjs/index.d.ts",
        "dist/cjs/client.js",
        "dist/cjs/package.json",
      ]),
    );
    for (const f of files) expect(f).toMatch(/^(dist\/(esm|cjs)\/|package\.json$|README\.md$)/);
    expect(manifest.dependencies ?? {}).toEqual({});
  });
});

describe("the installed package", () => {
  it("require() resolves the CommonJS build and works against the gateway", async () => {
    const out = await node([
      "-e",
      `const gz = require("gatewayz-js-hf");
       const client = gz.createClient();
       client.textClassification("I love it").then((r) => console.log(JSON.stringify({
         resolved: require.resolve("gatewayz-js-hf"),
         label: r[0][0].label,
         requestId: r.requestId,
         errors: gz.NotFoundError.prototype instanceof gz.APIStatusError,
       })));`,
    ]);
    const result = JSON.parse(out) as Record<string, unknown>;
    expect(result["resolved"]).toMatch(/node_modules\/gatewayz-js-hf\/dist\/cjs\/index\.js$/);
    expect(result["label"]).toBe("POSITIVE");
    expect(result["requestId"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(result["errors"]).toBe(true);
  });

  it("import resolves the ESM build and works against the gateway", async () => {
    const out = await node([
      "--input-type=module",
      "-e",
      `import { createClient, NotFoundError } from "gatewayz-js-hf";
       const client = createClient();
       const err = await client.summarization("x", { model: "missing" }).catch((e) => e);
       const image = await client.textToImage("a fox", { model: "painter" });
       console.log(JSON.stringify({
         resolved: import.meta.resolve("gatewayz-js-hf"),
         notFound: err instanceof NotFoundError,
         status: err.status,
         imageType: image.type,
       }));`,
    ]);
    const result = JSON.parse(out) as Record<string, unknown>;
    expect(result["resolved"]).toMatch(/node_modules\/gatewayz-js-hf\/dist\/esm\/index\.js$/);
    expect(result).toMatchObject({ notFound: true, status: 404, imageType: "image/png" });
  });

  it("type-checks for CommonJS and ESM TypeScript consumers (exports map types)", async () => {
    for (const file of ["consumer.cts", "consumer.mts"]) {
      copyFileSync(join(PACKAGE, "examples", file), join(consumer, file));
    }
    writeFileSync(
      join(consumer, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "NodeNext",
          moduleResolution: "NodeNext",
          target: "ES2022",
          lib: ["ES2022", "DOM", "DOM.Iterable"],
          strict: true,
          noEmit: true,
          types: [],
        },
        files: ["consumer.cts", "consumer.mts"],
      }),
    );
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    await expect(run(process.execPath, [tsc, "-p", consumer])).resolves.toBeDefined();
  });

  it("runs the quick-start's JavaScript example", async () => {
    copyFileSync(join(PACKAGE, "examples", "quickstart.mjs"), join(consumer, "quickstart.mjs"));
    const out = await node(["quickstart.mjs"]);
    // The generated text (any length, maybe several lines), then the two summaries; the
    // cost is 100 input + 50 output tokens at $0.50 / $1.50 per million.
    expect(out).toMatch(/\nAvailable: 1 text-generation models\nCost: \$0\.000125000\n$/);
  });
});
