/** The README's examples marked `embedded-example` run as written (but for the key and the
 * port) against a fresh embedded-default gateway: `gatewayz serve` with no configuration,
 * as `scripts/serve.sh` starts it. Each runs as an ES module in a project that has this
 * package (built) and `@huggingface/inference` installed. */

import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, Server } from "./support/servers.js";

const run = promisify(execFile);
const PACKAGE = resolve(import.meta.dirname, "..");
const README = readFileSync(join(PACKAGE, "README.md"), "utf8");
const EXAMPLES = [...README.matchAll(/<!-- embedded-example -->\n```ts\n([\s\S]*?)```/g)].map(
  (m) => m[1]!,
);
const DEFAULT_URL = "http://127.0.0.1:8000";

let work: string;
let server: Server;
let url: string;
let key: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "gatewayz-js-readme-"));
  const port = await freePort();
  server = new Server("embedded", ["-m", "gatewayz", "serve", "--port", String(port)], work);
  url = `http://127.0.0.1:${port}`;
  await server.waitFor(`${url}/health`);
  key = readFileSync(join(work, ".gatewayz-key"), "utf8").trim(); // written at first start
  const modules = join(work, "node_modules");
  mkdirSync(join(modules, "@huggingface"), { recursive: true });
  symlinkSync(PACKAGE, join(modules, "gatewayz-js-hf"));
  const hf = join(PACKAGE, "node_modules", "@huggingface", "inference");
  symlinkSync(hf, join(modules, "@huggingface", "inference"));
}, 90_000);

afterAll(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function runExample(name: string, code: string): Promise<string> {
  expect(code).toContain('"gz_..."');
  const file = join(work, `${name}.mjs`);
  writeFileSync(file, code.replaceAll('"gz_..."', JSON.stringify(key)).replaceAll(DEFAULT_URL, url));
  const { stdout } = await run(process.execPath, [file], { cwd: work, timeout: 120_000 });
  return stdout;
}

describe("the README on the embedded default", () => {
  it("has the two examples", () => {
    expect(EXAMPLES).toHaveLength(2);
    expect(key).toMatch(/^gz_/);
  });

  it("runs the quick start: text generation, then a streamed chat", async () => {
    const out = await runExample("quickstart", EXAMPLES[0]!);
    expect(out.trim().length).toBeGreaterThan(0);
  }, 180_000);

  it("runs the @huggingface/inference example", async () => {
    const out = await runExample("hf", EXAMPLES[1]!);
    expect(out.trim().split("\n").at(-1)).toBe("384"); // after the chat and the story
  }, 180_000);
});
