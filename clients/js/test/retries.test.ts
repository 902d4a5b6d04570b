/** Retries, backoff, Retry-After, timeouts and the client options, against a scripted
 * local HTTP server (real sockets, no mocks of the client). */

import {
  APIConnectionError,
  APIStreamError,
  APITimeoutError,
  APIUserAbortError,
  createClient,
  GatewayzError,
  InternalServerError,
  RateLimitError,
  UnprocessableEntityError,
} from "gatewayz-js-hf";
import { afterEach, describe, expect, it } from "vitest";
import {
  INITIAL_RETRY_DELAY_MS,
  MAX_RETRY_DELAY_MS,
  retryAfterMs,
  retryDelayMs,
  shouldRetryStatus,
} from "../src/core/retries.js";
import { drop, hang, json, ScriptedServer } from "./support/scripted-server.js";

const KEY = "gz_test_scripted_key_0123456789";
const HF_ERROR = (message: string) => ({ error: message, request_id: "rid-body" });
const OK_BALANCE = { api_key_id: 1, unlimited: true, balance_nano_usd: null, balance_usd: null };
let server: ScriptedServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function scripted(...args: Parameters<typeof ScriptedServer.start>) {
  server = await ScriptedServer.start(...args);
  return server;
}

describe("retries", () => {
  it("fails twice (503, then 429) and then succeeds: three attempts, one answer", async () => {
    const s = await scripted(
      [
        json(503, HF_ERROR("busy")),
        json(429, { error: { message: "slow down" } }, { "retry-after-ms": "10" }),
      ],
      json(200, OK_BALANCE),
    );
    const gz = createClient(KEY, { baseUrl: s.url });
    const balance = await gz.getBalance();
    expect(balance.unlimited).toBe(true);
    expect(balance.requestId).toMatch(/^req-200-/);
    expect(s.seen).toHaveLength(3);
    expect(s.seen.every((r) => r.url === "/v1/billing/balance")).toBe(true);
  });

  it("retries 408, 409, 500, 502 and 504, and POST bodies are resent intact", async () => {
    const s = await scripted(
      [408, 409, 500, 502, 504].map((status) =>
        json(status, HF_ERROR(`e${status}`), { "retry-after-ms": "1" }),
      ),
      json(200, [[{ label: "POSITIVE", score: 1 }]]),
    );
    const gz = createClient(KEY, { baseUrl: s.url, maxRetries: 5 });
    const out = await gz.textClassification("great", { model: "m" });
    expect(out[0]?.[0]?.label).toBe("POSITIVE");
    expect(s.seen).toHaveLength(6);
    for (const r of s.seen) expect(JSON.parse(r.body)).toEqual({ inputs: "great", model: "m" });
  });

  it("gives up after maxRetries with the last error", async () => {
    const s = await scripted([], json(500, HF_ERROR("still broken")));
    const gz = createClient(KEY, { baseUrl: s.url, maxRetries: 1 });
    const err = await gz.textClassification("x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InternalServerError);
    expect((err as InternalServerError).message).toBe("still broken");
    expect((err as InternalServerError).requestId).toMatch(/^req-500-/);
    expect(s.seen).toHaveLength(2);
  });

  it("does not retry other 4xx answers", async () => {
    const s = await scripted([json(422, HF_ERROR("inputs: bad"))]);
    const gz = createClient(KEY, { baseUrl: s.url, maxRetries: 3 });
    await expect(gz.summarization("x")).rejects.toBeInstanceOf(UnprocessableEntityError);
    expect(s.seen).toHaveLength(1);
  });

  it("maxRetries: 0 per call makes one attempt", async () => {
    const s = await scripted([], json(429, { error: { message: "limited", code: "rate_limited" } }));
    const gz = createClient(KEY, { baseUrl: s.url, maxRetries: 4 });
    const err = await gz.getBalance({ maxRetries: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as RateLimitError).code).toBe("rate_limited");
    expect(s.seen).toHaveLength(1);
  });

  it("honours Retry-After (seconds) before retrying", async () => {
    const s = await scripted([json(429, HF_ERROR("later"), { "retry-after": "1" })], json(200, OK_BALANCE));
    const gz = createClient(KEY, { baseUrl: s.url });
    await gz.getBalance();
    const [first, second] = s.seen;
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
  });

  it("backs off with jitter when there is no Retry-After", async () => {
    const s = await scripted([json(503, HF_ERROR("a")), json(503, HF_ERROR("b"))], json(200, OK_BALANCE));
    const gz = createClient(KEY, { baseUrl: s.url });
    await gz.getBalance();
    const [a, b, c] = s.seen.map((r) => r.at);
    expect(b! - a!).toBeGreaterThanOrEqual(INITIAL_RETRY_DELAY_MS * 0.75 - 20);
    expect(c! - b!).toBeGreaterThanOrEqual(INITIAL_RETRY_DELAY_MS * 2 * 0.75 - 20);
  });

  it("retries a dropped connection, and reports APIConnectionError when it keeps failing", async () => {
    const s = await scripted([drop], json(200, OK_BALANCE));
    const gz = createClient(KEY, { baseUrl: s.url });
    expect((await gz.getBalance()).unlimited).toBe(true);
    expect(s.seen).toHaveLength(2);

    const broken = await scripted([], drop);
    const failing = createClient(KEY, { baseUrl: broken.url, maxRetries: 1 });
    await expect(failing.getBalance()).rejects.toBeInstanceOf(APIConnectionError);
    expect(broken.seen).toHaveLength(2);
  });

  it("a stream is retried until its answer starts", async () => {
    const s = await scripted([json(503, HF_ERROR("warming up"))], (res) => {
      res.writeHead(200, { "content-type": "text/event-stream", "inference-id": "rid-stream" });
      res.write('data: {"index":1,"token":{"id":-1,"text":"hi","logprob":null,"special":false},');
      res.write('"generated_text":"hi","details":null}\r\n\r\n');
      res.end();
    });
    const gz = createClient(KEY, { baseUrl: s.url });
    const stream = await gz.textGenerationStream("x");
    expect(stream.requestId).toBe("rid-stream");
    const events = await stream.toArray();
    expect(events.map((e) => e.generated_text)).toEqual(["hi"]);
    expect(s.seen).toHaveLength(2);
    expect(s.seen[1]?.headers["accept"]).toBe("text/event-stream");
  });
});

describe("stream errors", () => {
  it("an error event after the stream started throws APIStreamError with the request id", async () => {
    const s = await scripted([], (res) => {
      res.writeHead(200, { "content-type": "text/event-stream", "inference-id": "rid-broken" });
      res.write('data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"a"}}]}\n\n');
      res.end('data: {"error":{"message":"upstream died","type":"upstream_error","code":"upstream_unavailable"}}\n\n');
    });
    const gz = createClient(KEY, { baseUrl: s.url });
    const stream = await gz.chatCompletionStream({ messages: [{ role: "user", content: "x" }] });
    const seen: string[] = [];
    const err = await (async () => {
      for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? "");
    })().catch((e: unknown) => e);
    expect(seen).toEqual(["a"]);
    expect(err).toBeInstanceOf(APIStreamError);
    expect(err).toMatchObject({
      message: "upstream died",
      type: "upstream_error",
      code: "upstream_unavailable",
      requestId: "rid-broken",
    });
  });

  it("a connection cut mid-stream throws APIConnectionError", async () => {
    const s = await scripted([], (res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('data: {"index":1,"token":{"id":-1,"text":"a","logprob":null,"special":false},"generated_text":null,"details":null}\n\n');
      setTimeout(() => res.socket?.destroy(), 50);
    });
    const gz = createClient(KEY, { baseUrl: s.url });
    const stream = await gz.textGenerationStream("x");
    await expect(stream.toArray()).rejects.toBeInstanceOf(APIConnectionError);
  });
});

describe("timeouts and aborts", () => {
  it("times out each attempt through AbortSignal: APITimeoutError after maxRetries", async () => {
    const s = await scripted([], hang);
    const gz = createClient(KEY, { baseUrl: s.url, timeout: 150, maxRetries: 1 });
    const started = Date.now();
    const err = await gz.getBalance().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APITimeoutError);
    expect(err).toBeInstanceOf(APIConnectionError);
    expect(s.seen).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("a per-call timeout overrides the client's", async () => {
    const s = await scripted([], hang);
    const gz = createClient(KEY, { baseUrl: s.url, timeout: 60_000, maxRetries: 0 });
    await expect(gz.getBalance({ timeout: 100 })).rejects.toBeInstanceOf(APITimeoutError);
  });

  it("the caller's AbortSignal ends the call with APIUserAbortError, without retrying", async () => {
    const s = await scripted([], hang);
    const gz = createClient(KEY, { baseUrl: s.url, maxRetries: 3 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await expect(gz.getBalance({ signal: controller.signal })).rejects.toBeInstanceOf(
      APIUserAbortError,
    );
    expect(s.seen).toHaveLength(1);
  });

  it("an abort during the backoff wait stops the retries", async () => {
    const s = await scripted([], json(503, HF_ERROR("down"), { "retry-after": "30" }));
    const gz = createClient(KEY, { baseUrl: s.url });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    await expect(gz.getBalance({ signal: controller.signal })).rejects.toBeInstanceOf(
      APIUserAbortError,
    );
    expect(s.seen).toHaveLength(1);
  });
});

describe("client options", () => {
  it("sends the key, default headers and per-call headers; fetch can be replaced", async () => {
    const s = await scripted([], json(200, OK_BALANCE));
    const urls: string[] = [];
    const gz = createClient(KEY, {
      baseUrl: `${s.url}/`,
      defaultHeaders: { "X-Team": "search" },
      fetch: (input, init) => {
        urls.push(input);
        return fetch(input, init);
      },
    });
    await gz.getBalance({ headers: { "X-Trace": "t1" } });
    const headers = s.seen[0]!.headers;
    expect(headers["authorization"]).toBe(`Bearer ${KEY}`);
    expect(headers["x-team"]).toBe("search");
    expect(headers["x-trace"]).toBe("t1");
    expect(urls).toEqual([`${s.url}/v1/billing/balance`]);
  });

  it("reads GATEWAYZ_API_KEY and GATEWAYZ_BASE_URL from the environment", async () => {
    const s = await scripted([], json(200, { data: [], next_cursor: null, totals: {} }));
    const saved = { ...process.env };
    try {
      process.env["GATEWAYZ_API_KEY"] = KEY;
      process.env["GATEWAYZ_BASE_URL"] = s.url;
      const gz = createClient();
      expect(gz.baseUrl).toBe(s.url);
      await gz.getUsage({ model: "smol", limit: 5, start: undefined });
      expect(s.seen[0]?.url).toBe("/hf/tasks/billing/usage?model=smol&limit=5");
      expect(s.seen[0]?.headers["authorization"]).toBe(`Bearer ${KEY}`);
      delete process.env["GATEWAYZ_API_KEY"];
      expect(() => createClient()).toThrow(GatewayzError);
      expect(() => createClient()).toThrow(/GATEWAYZ_API_KEY/);
    } finally {
      process.env = saved;
    }
  });

  it("rejects a negative timeout or retry count", () => {
    expect(() => createClient(KEY, { timeout: -1 })).toThrow(/timeout/);
    expect(() => createClient(KEY, { maxRetries: -1 })).toThrow(/maxRetries/);
  });
});

describe("retry rules", () => {
  it("retries exactly 408, 409, 429 and 5xx, unless x-should-retry says otherwise", () => {
    const retried = [400, 401, 402, 403, 404, 408, 409, 413, 422, 429, 500, 501, 502, 503, 504]
      .filter((status) => shouldRetryStatus(status));
    expect(retried).toEqual([408, 409, 429, 500, 501, 502, 503, 504]);
    expect(shouldRetryStatus(503, new Headers({ "x-should-retry": "false" }))).toBe(false);
    expect(shouldRetryStatus(400, new Headers({ "x-should-retry": "true" }))).toBe(true);
  });

  it("reads Retry-After as seconds, an HTTP date, or retry-after-ms, within bounds", () => {
    const h = (values: Record<string, string>) => new Headers(values);
    expect(retryAfterMs(h({ "retry-after": "2" }))).toBe(2000);
    expect(retryAfterMs(h({ "retry-after-ms": "250", "retry-after": "9" }))).toBe(250);
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(retryAfterMs(h({ "retry-after": "Thu, 01 Jan 2026 00:00:03 GMT" }), now)).toBe(3000);
    expect(retryAfterMs(h({ "retry-after": "3600" }))).toBeUndefined();
    expect(retryAfterMs(h({ "retry-after": "0" }))).toBeUndefined();
    expect(retryAfterMs(h({ "retry-after": "soon" }))).toBeUndefined();
    expect(retryAfterMs(h({}))).toBeUndefined();
  });

  it("backs off exponentially with up to 25% jitter, capped", () => {
    expect(retryDelayMs(1, undefined, () => 0)).toBe(INITIAL_RETRY_DELAY_MS);
    expect(retryDelayMs(2, undefined, () => 0)).toBe(INITIAL_RETRY_DELAY_MS * 2);
    expect(retryDelayMs(2, undefined, () => 1)).toBe(INITIAL_RETRY_DELAY_MS * 2 * 0.75);
    expect(retryDelayMs(20, undefined, () => 0)).toBe(MAX_RETRY_DELAY_MS);
    expect(retryDelayMs(3, 1234, () => 0.5)).toBe(1234);
  });
});
