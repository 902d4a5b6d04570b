/** Models (discovery and admin mapping) and billing (cost calculator, usage, HF's cost
 * lookup, balance) against the live gateway. */

import { PermissionDeniedError } from "gatewayz-js-hf";
import { describe, expect, it } from "vitest";
import { client } from "./support/context.js";

describe("models", () => {
  it("listModels lists the registry, filtered by task", async () => {
    const all = await client().listModels();
    const ids = all.map((m) => m.provider_model_id);
    expect(ids).toEqual(expect.arrayContaining(["smol", "minilm", "sentiment", "painter"]));
    const chat = await client().listModels("conversational");
    expect(chat.map((m) => m.provider_model_id)).toEqual(["smol"]);
    const smol = chat[0]!;
    expect(smol.hub_model_id).toBe("HuggingFaceTB/SmolLM2-135M-Instruct");
    expect(smol.pricing.input_per_million_usd).toBe("0.50");
    expect(smol.status).toBe("live");
    // Routes and where an entry comes from are for admins; other keys see public fields.
    expect(smol.source).toBeUndefined();
    expect(smol.routes).toBeUndefined();
    const [full] = await client("admin").listModels("conversational");
    expect(full?.source).toBe("config");
    expect(full?.routes?.[0]?.provider).toBe("local");
  });

  it("openAIModels lists the live models with USD-per-million prices", async () => {
    const models = await client().openAIModels();
    const smol = models.find((m) => m.id === "smol");
    expect(smol?.object).toBe("model");
    expect(smol?.pricing).toEqual({ input: 0.5, output: 1.5 });
    expect(smol?.task).toBe("conversational");
  });

  it("mapModel (admin) registers a staging mapping; setModelStatus and unmapModel change it", async () => {
    const admin = client("admin");
    const id = `js-mapped-${Date.now()}`;
    const created = await admin.mapModel({
      provider_model_id: id,
      hub_model_id: "HuggingFaceTB/SmolLM2-135M-Instruct",
      task_type: "conversational",
      routes: [{ provider: "local", model: "smollm2-135m-instruct" }],
      pricing: { input_per_million_usd: "0.25", output_per_million_usd: "0.75" },
    });
    expect(created.provider_model_id).toBe(id);
    expect(created.status).toBe("staging");
    expect(created.source).toBe("api");
    expect(created.pricing.output_per_million_usd).toBe("0.75");

    const staging = await admin.listModels("conversational", { status: "staging" });
    expect(staging.map((m) => m.provider_model_id)).toContain(id);
    const hidden = await client().listModels("conversational", { status: "staging" });
    expect(hidden.map((m) => m.provider_model_id)).not.toContain(id); // staging: admins only
    // Never checked with `gatewayz hf check`: going live is refused unless forced.
    await expect(admin.setModelStatus(id, "live")).rejects.toThrow(/no conformance check/);
    const live = await admin.setModelStatus(id, "live", { force: true });
    expect(live.status).toBe("live");
    const registry = await client().modelRegistry({ status: "live" });
    expect(registry["conversational"]?.["HuggingFaceTB/SmolLM2-135M-Instruct"]).toBeDefined();

    expect(await admin.unmapModel(id)).toEqual({ deleted: id });
    const after = await client().listModels("conversational");
    expect(after.map((m) => m.provider_model_id)).not.toContain(id);
  });
});

describe("billing", () => {
  it("calculateCost prices usage exactly in nano-USD", async () => {
    const quote = await client().calculateCost([
      { task: "conversational", model: "smol", input_tokens: 100, output_tokens: 50 },
      { task: "text-to-image", model: "painter", images: 2 },
    ]);
    // 100 x $0.50/M + 50 x $1.50/M = $0.000125; 2 images x $0.002 = $0.004.
    expect(quote.costs.map((c) => c.cost_nano_usd)).toEqual([125_000, 4_000_000]);
    expect(quote.total_cost_nano_usd).toBe(4_125_000);
    expect(quote.total_cost_usd).toBe("0.004125000");
    expect(quote.costs[0]?.images).toBe(0);
  });

  it("getUsage finds the caller's own request by its Inference-Id, with totals", async () => {
    const gz = client();
    const answer = await gz.textClassification("usage test, a lovely day");
    const page = await gz.getUsage({ model: "sentiment", limit: 100 });
    const record = page.data.find((r) => r.request_id === answer.requestId);
    expect(record?.task).toBe("text-classification");
    expect(record?.status).toBe(200);
    expect(record?.cost_nano_usd).toBe(100_000); // per_request_usd 0.0001
    expect(page.totals.requests).toBeGreaterThanOrEqual(1);
    expect(page.totals.cost_nano_usd).toBeGreaterThanOrEqual(100_000);
  });

  it("iterateUsage follows the cursor across pages", async () => {
    const gz = client();
    await gz.textClassification("one");
    await gz.textClassification("two");
    await gz.textClassification("three");
    const seen: string[] = [];
    for await (const record of gz.iterateUsage({ model: "sentiment", limit: 1 })) {
      seen.push(record.request_id);
    }
    const total = (await gz.getUsage({ model: "sentiment" })).totals.requests;
    expect(seen.length).toBe(total);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it("billingLookup (admin or partner key) gives the cost of known request ids", async () => {
    const partnerAnswer = await client("partner").textClassification("billed through HF");
    const userAnswer = await client("user").textClassification("billed by credits");
    const ids = [partnerAnswer.requestId!, userAnswer.requestId!, "not-a-request-id"];

    const admin = await client("admin").billingLookup(ids);
    expect(admin.requests.map((r) => r.requestId).sort()).toEqual(ids.slice(0, 2).sort());
    for (const r of admin.requests) expect(r.costNanoUsd).toBe(100_000);

    const partner = await client("partner").billingLookup(ids);
    expect(partner.requests).toEqual([{ requestId: partnerAnswer.requestId, costNanoUsd: 100_000 }]);

    await expect(client("user").billingLookup(ids)).rejects.toBeInstanceOf(PermissionDeniedError);
  });

  it("getBalance reports unlimited and prepaid keys", async () => {
    const unlimited = await client().getBalance();
    expect(unlimited.unlimited).toBe(true);
    expect(unlimited.balance_nano_usd).toBeNull();
    const broke = await client("broke").getBalance();
    expect(broke.unlimited).toBe(false);
    expect(broke.balance_nano_usd).toBe(0);
    expect(broke.balance_usd).toBe("0.000000000");
  });
});
