/** Error statuses from the live gateway become the typed error hierarchy, each with status,
 * message and request id, and never with the API key. */

import { inspect } from "node:util";
import {
  APIConnectionError,
  APIStatusError,
  AuthenticationError,
  BadRequestError,
  createClient,
  type FetchLike,
  GatewayzError,
  InsufficientCreditsError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  UnprocessableEntityError,
} from "gatewayz-js-hf";
import { describe, expect, it } from "vitest";
import { freePort } from "./support/servers.js";
import { client, gateway } from "./support/context.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const WRONG_KEY = "gz_000000000000_not-a-real-key-but-a-secret-all-the-same";

async function failure(promise: Promise<unknown>): Promise<GatewayzError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayzError);
    return err as GatewayzError;
  }
  throw new Error("expected the call to fail");
}

function expectNoSecret(err: unknown, ...secrets: string[]): void {
  const e = err as Error;
  const views = [
    String(e),
    e.stack ?? "",
    inspect(e, { depth: 10, showHidden: true }),
    JSON.stringify(e, Object.getOwnPropertyNames(e)),
  ];
  for (const secret of secrets) for (const view of views) expect(view).not.toContain(secret);
}

describe("error mapping", () => {
  it("401 with a wrong key: AuthenticationError, OpenAI-shaped details on /v1", async () => {
    const bad = createClient(WRONG_KEY, { baseUrl: gateway.url });
    const err = await failure(bad.chatCompletion({ messages: [{ role: "user", content: "x" }] }));
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err).toBeInstanceOf(APIStatusError);
    expect(err.status).toBe(401);
    expect(err.requestId).toMatch(UUID);
    expect((err as APIStatusError).type).toBe("authentication_error");
    expect((err as APIStatusError).code).toBe("invalid_api_key");
    expect(err.message.length).toBeGreaterThan(0);
    expectNoSecret(err, WRONG_KEY);

    const hfErr = await failure(bad.textClassification("x"));
    expect(hfErr).toBeInstanceOf(AuthenticationError);
    expect(hfErr.requestId).toMatch(UUID);
    expectNoSecret(hfErr, WRONG_KEY);
  });

  it("403 for admin and billing calls with a user key: PermissionDeniedError", async () => {
    const gz = client("user");
    const mapErr = await failure(
      gz.mapModel({
        provider_model_id: "nope",
        hub_model_id: "org/nope",
        task_type: "conversational",
        routes: [{ provider: "local", model: "smollm2-135m-instruct" }],
      }),
    );
    expect(mapErr).toBeInstanceOf(PermissionDeniedError);
    expect(mapErr.status).toBe(403);
    const lookupErr = await failure(gz.billingLookup(["x"]));
    expect(lookupErr).toBeInstanceOf(PermissionDeniedError);
    expect(lookupErr.message).toMatch(/admin or partner/);
    expectNoSecret(lookupErr, gateway.keys.user);
  });

  it("404 for an unknown model: NotFoundError naming it", async () => {
    const err = await failure(client().summarization("Some text.", { model: "no-such-model" }));
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.status).toBe(404);
    expect(err.message).toContain("no-such-model");
    expect(err.requestId).toMatch(UUID);
  });

  it("422 for task inputs the task cannot take: UnprocessableEntityError", async () => {
    const gz = client();
    const empty = await failure(gz.summarization(""));
    expect(empty).toBeInstanceOf(UnprocessableEntityError);
    expect(empty.status).toBe(422);
    expect(empty.message).toMatch(/^inputs/);
    const noLabels = await failure(
      gz.zeroShotClassification("text", { parameters: { candidate_labels: [] } }),
    );
    expect(noLabels).toBeInstanceOf(UnprocessableEntityError);
    expect(noLabels.message).toContain("candidate_labels");
    const qa = await failure(
      gz.questionAnswering({ question: "Who?" } as { question: string; context: string }),
    );
    expect(qa).toBeInstanceOf(UnprocessableEntityError);
    expect(qa.message).toContain("context");
  });

  it("400 for a bad OpenAI request: BadRequestError", async () => {
    const err = await failure(client().embeddings({ input: "x", model: "minilm", dimensions: 4096 }));
    expect(err).toBeInstanceOf(BadRequestError);
    expect(err.status).toBe(400);
    expect(err.message).toContain("dimensions");
  });

  it("402 when the key's balance cannot cover the request: InsufficientCreditsError", async () => {
    const err = await failure(
      client("broke").chatCompletion({
        model: "smol",
        messages: [{ role: "user", content: "Hi" }],
        max_tokens: 10,
      }),
    );
    expect(err).toBeInstanceOf(InsufficientCreditsError);
    expect(err.status).toBe(402);
    expect(err.message).toMatch(/balance/);
    expectNoSecret(err, gateway.keys.broke);
  });

  it("5xx: InternalServerError, retried like every 5xx", async () => {
    let calls = 0;
    const counting: FetchLike = (input, init) => {
      calls++;
      return fetch(input, init);
    };
    const gz = client("user", { fetch: counting, maxRetries: 1 });
    const err = await failure(gz.textToImage("a fox", { model: "no-painter" }));
    expect(err).toBeInstanceOf(InternalServerError);
    expect(err.status).toBe(501);
    expect(err.message).toMatch(/configure an upstream/);
    expect(calls).toBe(2);
  });

  it("no server listening: APIConnectionError without the key", async () => {
    const port = await freePort();
    const gz = createClient(WRONG_KEY, { baseUrl: `http://127.0.0.1:${port}`, maxRetries: 0 });
    const err = await failure(gz.getBalance());
    expect(err).toBeInstanceOf(APIConnectionError);
    expect(err.status).toBeUndefined();
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expectNoSecret(err, WRONG_KEY);
  });

  it("the client itself does not show its key", () => {
    const gz = createClient(WRONG_KEY, { baseUrl: gateway.url });
    expect(inspect(gz, { depth: 10, showHidden: true })).not.toContain(WRONG_KEY);
    expect(JSON.stringify(gz)).not.toContain(WRONG_KEY);
  });
});
