/** Every task method against the live gateway: embedded models, the llama upstream, and
 * the image upstream. Results are checked for the exact Hugging Face shapes. */

import type { TextClassificationOutput } from "gatewayz-js-hf";
import { describe, expect, it } from "vitest";
import { client } from "./support/context.js";

const gz = client();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function expectLabelScores(items: Array<{ label: string; score: number }>): void {
  expect(items.length).toBeGreaterThan(0);
  for (const { label, score } of items) {
    expect(typeof label).toBe("string");
    expect(score).toBeGreaterThanOrEqual(0);
    expect(score).toBeLessThanOrEqual(1);
  }
  const scores = items.map((x) => x.score);
  expect(scores).toEqual([...scores].sort((a, b) => b - a));
}

describe("text", () => {
  it("textGeneration gives HF's list as output and the first element's text", async () => {
    const res = await gz.textGeneration("The capital of France is", {
      model: "smol",
      parameters: { max_new_tokens: 6, details: true, seed: 1 },
    });
    expect(res.output).toHaveLength(1);
    expect(res.generated_text).toBe(res.output[0]?.generated_text);
    expect(res.generated_text.length).toBeGreaterThan(0);
    expect(res.details?.finish_reason).toMatch(/^(length|eos_token|stop_sequence)$/);
    expect(res.details?.generated_tokens).toBeGreaterThan(0);
    expect(res.requestId).toMatch(UUID);
    expect(Object.keys(res)).not.toContain("requestId");
  });

  it("textGeneration with return_full_text starts with the prompt", async () => {
    const res = await gz.textGeneration("Once upon a time", {
      model: "smol",
      parameters: { max_new_tokens: 4, return_full_text: true },
    });
    expect(res.generated_text.startsWith("Once upon a time")).toBe(true);
  });

  it("chatCompletion answers in OpenAI's shape with usage", async () => {
    const res = await gz.chatCompletion({
      model: "smol",
      messages: [{ role: "user", content: "Say hello." }],
      max_tokens: 5,
    });
    expect(res.object).toBe("chat.completion");
    expect(res.model).toBe("smol");
    expect(res.choices[0]?.message.role).toBe("assistant");
    expect(res.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(res.usage?.completion_tokens).toBeGreaterThan(0);
    expect(res.usage?.completion_tokens).toBeLessThanOrEqual(5);
    expect(res.requestId).toMatch(UUID);
  });

  it("completion answers /v1/completions", async () => {
    const res = await gz.completion({ model: "smol", prompt: "1, 2, 3,", max_tokens: 3 });
    expect(res.object).toBe("text_completion");
    expect(typeof res.choices[0]?.text).toBe("string");
    expect(res.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it("conversational takes messages and a bare string", async () => {
    const res = await gz.conversational([{ role: "user", content: "Hi!" }], {
      model: "smol",
      parameters: { max_new_tokens: 4 },
    });
    expect(res).toHaveLength(1);
    expect(typeof res[0]?.generated_text).toBe("string");
    const single = await gz.conversational("Hello", { parameters: { max_new_tokens: 3 } });
    expect(typeof single[0]?.generated_text).toBe("string");
  });

  it("summarization extracts sentences of the input", async () => {
    const text =
      "The Eiffel Tower is 330 metres tall. It was built in 1889 for the World's Fair. " +
      "It is the most visited paid monument in the world. Gustave Eiffel's company built it.";
    const res = await gz.summarization(text, { model: "summarizer" });
    expect(res).toHaveLength(1);
    const summary = res[0]?.summary_text ?? "";
    expect(summary.length).toBeGreaterThan(0);
    expect(summary.length).toBeLessThan(text.length);
    for (const sentence of summary.split(/(?<=\.)\s+/)) expect(text).toContain(sentence);
  });

  it("translation translates English to Spanish", async () => {
    const res = await gz.translation("Hello, my friend.", {
      parameters: { src_lang: "en", tgt_lang: "es" },
    });
    expect(res[0]?.translation_text.toLowerCase()).toContain("hola");
  });

  it("questionAnswering returns a span of the context", async () => {
    const context = "The Amazon river flows through Brazil. Its source is in Peru.";
    const res = await gz.questionAnswering(
      { question: "Which country does the Amazon flow through?", context },
      { model: "qa" },
    );
    expect(context.slice(res.start, res.end)).toBe(res.answer);
    expect(res.score).toBeGreaterThanOrEqual(0);
    expect(res.score).toBeLessThanOrEqual(1);
  });

  it("fillMask returns candidates whose sequence fills the mask", async () => {
    const res = await gz.fillMask("Paris is the capital of [MASK].", {
      model: "fill",
      parameters: { top_k: 2 },
    });
    expect(res.length).toBeGreaterThan(0);
    expect(res.length).toBeLessThanOrEqual(2);
    for (const c of res) {
      expect(c.sequence).toBe(`Paris is the capital of ${c.token_str}.`);
      expect(typeof c.token).toBe("number");
    }
  });
});

describe("classification", () => {
  it("textClassification gives one sorted label list per input", async () => {
    const res = await gz.textClassification("I love this wonderful film!");
    expect(res).toHaveLength(1);
    expectLabelScores(res[0] ?? []);
    expect(res[0]?.[0]?.label).toBe("POSITIVE");
    const negative = await gz.textClassification("This is the worst, most awful day.");
    expect(negative[0]?.[0]?.label).toBe("NEGATIVE");
  });

  it("tokenClassification finds entities whose offsets index the input", async () => {
    const text = "Tim Cook leads Apple in California.";
    const res = await gz.tokenClassification(text, { model: "ner" });
    const groups = Object.fromEntries(res.map((e) => [e.word, e.entity_group]));
    expect(groups["Tim Cook"]).toBe("PERSON");
    expect(groups["Apple"]).toBe("ORG");
    for (const e of res) expect(text.slice(e.start, e.end)).toBe(e.word);
  });

  it("zeroShotClassification scores every candidate label", async () => {
    const res = await gz.zeroShotClassification("The football team won the match.", {
      parameters: { candidate_labels: ["politics", "sports", "cooking"] },
    });
    expect(res.map((x) => x.label).sort()).toEqual(["cooking", "politics", "sports"]);
    expectLabelScores(res);
    expect(res[0]?.label).toBe("sports");
  });
});

describe("vectors", () => {
  it("featureExtraction gives one normalised 384-d vector per text", async () => {
    const res = await gz.featureExtraction(["a cat", "a dog"], { model: "minilm" });
    expect(res).toHaveLength(2);
    for (const v of res) {
      expect(v).toHaveLength(384);
      expect(Math.hypot(...v)).toBeCloseTo(1, 3);
    }
    const one = await gz.featureExtraction("a cat");
    expect(one).toHaveLength(1);
    expect(one[0]?.[0]).toBeCloseTo(res[0]?.[0] ?? NaN, 5);
  });

  it("sentenceSimilarity ranks the paraphrase first", async () => {
    const res = await gz.sentenceSimilarity({
      source_sentence: "A cat sits on the mat.",
      sentences: ["A kitten rests on a rug.", "Stock markets fell sharply."],
    });
    expect(res).toHaveLength(2);
    expect(res[0]).toBeGreaterThan(res[1] ?? 1);
  });

  it("embeddings answers in OpenAI's shape, float and base64", async () => {
    const res = await gz.embeddings({ input: ["one", "two"], model: "minilm" });
    expect(res.object).toBe("list");
    expect(res.data.map((d) => d.index)).toEqual([0, 1]);
    expect((res.data[0]?.embedding as number[]).length).toBe(384);
    expect(res.usage.prompt_tokens).toBeGreaterThan(0);
    const b64 = await gz.embeddings({ input: "one", encoding_format: "base64", dimensions: 8 });
    const bytes = Buffer.from(b64.data[0]?.embedding as string, "base64");
    const floats = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    expect(floats).toHaveLength(8);
    expect(floats[0]).toBeCloseTo((res.data[0]?.embedding as number[])[0] ?? NaN, 5);
  });
});

describe("images", () => {
  it("textToImage returns a PNG Blob of the asked size", async () => {
    const img = await gz.textToImage("a red fox", { model: "painter", parameters: { width: 64, height: 96 } });
    expect(img).toBeInstanceOf(Blob);
    expect(img.type).toBe("image/png");
    const bytes = new Uint8Array(await img.arrayBuffer());
    expect([...bytes.slice(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const view = new DataView(bytes.buffer);
    expect([view.getUint32(16), view.getUint32(20)]).toEqual([64, 96]);
    expect(img.requestId).toMatch(UUID);
  });

  it("imageGeneration answers /v1/images/generations with base64 PNG", async () => {
    const res = await gz.imageGeneration({ prompt: "a fox", size: "64x64", model: "painter" });
    const png = Buffer.from(res.data[0]?.b64_json ?? "", "base64");
    expect(png.subarray(1, 4).toString()).toBe("PNG");
  });
});

describe("runTask", () => {
  it("runs any task by name, including HF's older names image-generation and embedding", async () => {
    const res = await gz.runTask<TextClassificationOutput>("text-classification", "Great day");
    expect(res[0]?.[0]?.label).toBe("POSITIVE");
    const vectors = await gz.runTask<number[][]>("embedding", ["x"], { model: "minilm" });
    expect(vectors[0]).toHaveLength(384);
    const image = await gz.runTask<Blob>("image-generation", "a fox", {
      model: "painter",
      parameters: { width: 64, height: 64 },
    });
    expect(image).toBeInstanceOf(Blob);
    expect(image.type).toBe("image/png");
  });
});
