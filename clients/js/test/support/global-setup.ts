/** Starts the servers once for the whole run and hands their URLs and keys to the tests. */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import {
  createKey,
  freePort,
  imageUpstream,
  llamaUpstream,
  Server,
  writeConfig,
} from "./servers.js";

export interface LiveGateway {
  url: string;
  keys: { user: string; admin: string; partner: string; broke: string };
}

declare module "vitest" {
  export interface ProvidedContext {
    gateway: LiveGateway;
  }
}

const TOKEN_PRICES = { input_per_million_usd: "0.50", output_per_million_usd: "1.50" };

function model(
  id: string,
  hub: string,
  task: string,
  provider: string,
  upstream: string,
  pricing: Record<string, string> = { per_request_usd: "0.0001" },
) {
  return { id, hub_model_id: hub, task, routes: [{ provider, model: upstream }], pricing };
}

function config(dir: string, llamaPort: number, imagePort: number) {
  const smol = "smollm2-135m-instruct";
  return {
    database_url: `sqlite:///${join(dir, "gateway.db")}`,
    auth_cache_ttl_s: 0,
    providers: [
      { name: "local", kind: "local" },
      { name: "llama", kind: "openai", base_url: `http://127.0.0.1:${llamaPort}/v1` },
      { name: "images", kind: "openai", base_url: `http://127.0.0.1:${imagePort}/v1` },
    ],
    models: [
      model("smol", "HuggingFaceTB/SmolLM2-135M-Instruct", "conversational", "local", smol, TOKEN_PRICES),
      // The quick-start's example model name, served by the embedded SmolLM2.
      model("gpt-3.5-turbo", "meta-llama/Llama-2-7b-chat-hf", "text-generation", "local", smol, TOKEN_PRICES),
      model("minilm", "sentence-transformers/all-MiniLM-L6-v2", "feature-extraction", "local", "default"),
      model("summarizer", "gatewayz-test/textrank", "summarization", "local", "default"),
      model("translator", "gatewayz-test/apertium-en-es", "translation", "local", "default"),
      model("sentiment", "gatewayz-test/vader", "text-classification", "local", "default"),
      model("ner", "spacy/en_core_web_sm", "token-classification", "local", "default"),
      model("zeroshot", "gatewayz-test/minilm-zero-shot", "zero-shot-classification", "local", "default"),
      model("qa", "gatewayz-test/smol-qa", "question-answering", "llama", "smollm2"),
      model("fill", "gatewayz-test/smol-fill-mask", "fill-mask", "llama", "smollm2"),
      model("painter", "gatewayz-test/painter", "text-to-image", "images", "test-diffusion", {
        per_image_usd: "0.002",
      }),
      model("no-painter", "gatewayz-test/no-painter", "text-to-image", "local", "default"),
    ],
    // What answers the calls that name no model (without one, such a call is a 400).
    default_models: {
      conversational: "smol",
      "text-generation": "smol",
      "feature-extraction": "minilm",
      "sentence-similarity": "minilm",
      summarization: "summarizer",
      translation: "translator",
      "text-classification": "sentiment",
      "token-classification": "ner",
      "zero-shot-classification": "zeroshot",
      "question-answering": "qa",
      "fill-mask": "fill",
      "text-to-image": "painter",
    },
  };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), "gatewayz-js-"));
  const [gatewayPort, llamaPort, imagePort] = [await freePort(), await freePort(), await freePort()];
  const configPath = join(dir, "gatewayz.yaml");
  writeConfig(configPath, config(dir, llamaPort, imagePort));

  const servers: Server[] = [];
  const teardown = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const llama = llamaUpstream(dir, llamaPort);
    const images = imageUpstream(dir, imagePort);
    servers.push(llama, images);
    // The first key creates the database; the others can then be made together.
    const user = await createKey(configPath, dir);
    const [admin, partner, broke] = await Promise.all([
      createKey(configPath, dir, "--admin"),
      createKey(configPath, dir, "--partner"),
      createKey(configPath, dir, "--balance-usd", "0"),
    ]);
    const gateway = new Server(
      "gateway",
      ["-m", "gatewayz", "serve", "--config", configPath, "--port", String(gatewayPort)],
      dir,
    );
    servers.push(gateway);
    const url = `http://127.0.0.1:${gatewayPort}`;
    await Promise.all([
      gateway.waitFor(`${url}/health`),
      llama.waitFor(`http://127.0.0.1:${llamaPort}/v1/models`),
      images.waitFor(`http://127.0.0.1:${imagePort}/`),
    ]);
    project.provide("gateway", { url, keys: { user, admin, partner, broke } });
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}
