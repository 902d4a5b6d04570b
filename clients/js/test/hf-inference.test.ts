/** The official `@huggingface/inference` client, unmodified, with `endpointUrl` pointed at
 * the gateway's hf-inference routes (`/models/{org/name}[/v1/...]`). */

import { InferenceClient, InferenceClientProviderApiError } from "@huggingface/inference";
import { describe, expect, it } from "vitest";
import { gateway } from "./support/context.js";

const hf = new InferenceClient(gateway.keys.user);
const modelUrl = (hubId: string) => `${gateway.url}/models/${hubId}`;
const SMOL = modelUrl("HuggingFaceTB/SmolLM2-135M-Instruct");

describe("@huggingface/inference with endpointUrl", () => {
  it("chatCompletion", async () => {
    const out = await hf.chatCompletion({
      endpointUrl: SMOL,
      messages: [{ role: "user", content: "Say hello." }],
      max_tokens: 5,
    });
    expect(out.choices[0]?.message.role).toBe("assistant");
    expect(out.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(out.usage.completion_tokens).toBeGreaterThan(0);
    expect(out.model).toBe("smol");
  });

  it("chatCompletionStream", async () => {
    let text = "";
    let chunks = 0;
    for await (const chunk of hf.chatCompletionStream({
      endpointUrl: SMOL,
      messages: [{ role: "user", content: "Count to three." }],
      max_tokens: 6,
    })) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? "";
    }
    expect(chunks).toBeGreaterThan(1);
    expect(text.length).toBeGreaterThan(0);
  });

  it("textGeneration (the client posts to {endpointUrl}/v1/completions)", async () => {
    const out = await hf.textGeneration({
      endpointUrl: SMOL,
      inputs: "The capital of France is",
      parameters: { max_new_tokens: 5 },
    });
    expect(typeof out.generated_text).toBe("string");
    expect(out.generated_text.length).toBeGreaterThan(0);
  });

  it("featureExtraction", async () => {
    const out = await hf.featureExtraction({
      endpointUrl: modelUrl("sentence-transformers/all-MiniLM-L6-v2"),
      inputs: "a sentence to embed",
    });
    const vectors = out as number[][];
    expect(vectors).toHaveLength(1);
    expect(vectors[0]).toHaveLength(384);
    expect(vectors[0]!.every((x) => typeof x === "number")).toBe(true);
  });

  it("textClassification", async () => {
    const out = await hf.textClassification({
      endpointUrl: modelUrl("gatewayz-test/vader"),
      inputs: "I really love this!",
    });
    expect(out[0]?.label).toBe("POSITIVE");
    for (const { label, score } of out) {
      expect(typeof label).toBe("string");
      expect(score).toBeGreaterThanOrEqual(0);
      expect(score).toBeLessThanOrEqual(1);
    }
  });

  it("textToImage gives a PNG Blob", async () => {
    const blob = await hf.textToImage(
      {
        endpointUrl: modelUrl("gatewayz-test/painter"),
        inputs: "a lighthouse at dusk",
        parameters: { width: 64, height: 64 },
      },
      { outputType: "blob" },
    );
    expect(blob).toBeInstanceOf(Blob);
    expect(blob.type).toBe("image/png");
    const head = new Uint8Array(await blob.slice(0, 4).arrayBuffer());
    expect([...head]).toEqual([0x89, 0x50, 0x4e, 0x47]);
  });

  it("a client-wide endpointUrl works too", async () => {
    const bound = new InferenceClient(gateway.keys.user, {
      endpointUrl: modelUrl("gatewayz-test/vader"),
    });
    const out = await bound.textClassification({ inputs: "This is terrible." });
    expect(out[0]?.label).toBe("NEGATIVE");
  });

  it("gateway errors surface as the library's provider errors", async () => {
    const err = await hf
      .textClassification({ endpointUrl: modelUrl("no-such/model"), inputs: "x" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InferenceClientProviderApiError);
    expect((err as InferenceClientProviderApiError).httpResponse.status).toBe(404);
    expect((err as Error).message).toContain("no-such/model");
  });
});
