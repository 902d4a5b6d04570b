/** Streaming methods as async iterables of typed chunks, against the live gateway. */

import { APIUserAbortError, Stream } from "gatewayz-js-hf";
import { describe, expect, it } from "vitest";
import { client } from "./support/context.js";

const gz = client();

describe("streaming", () => {
  it("chatCompletionStream yields chunks whose deltas make the answer, then usage", async () => {
    const stream = await gz.chatCompletionStream({
      model: "smol",
      messages: [{ role: "user", content: "Count from one to five." }],
      max_tokens: 8,
    });
    expect(stream).toBeInstanceOf(Stream);
    expect(stream.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const chunks = await stream.toArray();
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(text.length).toBeGreaterThan(0);
    const usage = chunks.at(-1)?.usage;
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    expect(usage?.completion_tokens).toBeLessThanOrEqual(8);
    expect(chunks.some((c) => c.choices[0]?.finish_reason === "length")).toBe(true);
  });

  it("textGenerationStream yields TGI token events; the last carries the whole text", async () => {
    const stream = await gz.textGenerationStream("The sky is", {
      model: "smol",
      parameters: { max_new_tokens: 6 },
    });
    const events = [];
    for await (const event of stream) events.push(event);
    expect(events.length).toBeGreaterThan(1);
    expect(events.map((e) => e.index)).toEqual(events.map((_, i) => i + 1));
    for (const e of events.slice(0, -1)) {
      expect(e.generated_text).toBeNull();
      expect(e.details).toBeNull();
    }
    const last = events.at(-1);
    expect(last?.generated_text).toBe(events.map((e) => e.token.text).join(""));
    expect(last?.details?.finish_reason).toBe("length");
    expect(last?.details?.generated_tokens).toBe(6);
  });

  it("completionStream yields text completion chunks", async () => {
    const stream = await gz.completionStream({ model: "smol", prompt: "Hello", max_tokens: 4 });
    const text = (await stream.toArray()).map((c) => c.choices[0]?.text ?? "").join("");
    expect(text.length).toBeGreaterThan(0);
  });

  it("a stream can be iterated only once", async () => {
    const stream = await gz.completionStream({ model: "smol", prompt: "Hi", max_tokens: 2 });
    await stream.toArray();
    await expect(stream.toArray()).rejects.toThrow(/only once/);
  });

  it("breaking out of the loop closes the stream; abort() stops it with APIUserAbortError", async () => {
    const stream = await gz.chatCompletionStream({
      model: "smol",
      messages: [{ role: "user", content: "Write a long story." }],
      max_tokens: 64,
    });
    let seen = 0;
    for await (const _ of stream) {
      if (++seen === 2) break;
    }
    expect(seen).toBe(2);

    const second = await gz.chatCompletionStream({
      model: "smol",
      messages: [{ role: "user", content: "Write a long story." }],
      max_tokens: 64,
    });
    const consume = (async () => {
      let n = 0;
      for await (const _ of second) {
        if (++n === 1) second.abort();
      }
    })();
    await expect(consume).rejects.toBeInstanceOf(APIUserAbortError);
  });

  it("a caller's AbortSignal aborts a stream in progress", async () => {
    const controller = new AbortController();
    const stream = await gz.chatCompletionStream(
      { model: "smol", messages: [{ role: "user", content: "Tell me a story." }], max_tokens: 64 },
      { signal: controller.signal },
    );
    const consume = (async () => {
      for await (const _ of stream) controller.abort();
    })();
    await expect(consume).rejects.toBeInstanceOf(APIUserAbortError);
  });
});
