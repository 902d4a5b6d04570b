/** The Gatewayz client: one method per task the gateway serves, plus the registry and
 * billing APIs. Every answer carries the server's `Inference-Id` as `requestId`. */

import { GatewayzError } from "./core/errors.js";
import type { Stream } from "./core/stream.js";
import {
  type Call,
  type ClientOptions,
  type Query,
  type RequestOptions,
  Transport,
} from "./core/transport.js";
import type {
  Balance,
  CostItem,
  CostQuote,
  RequestCosts,
  UsagePage,
  UsageQuery,
  UsageRecord,
} from "./types/billing.js";
import type {
  ConversationalMessage,
  ConversationalOutput,
  FeatureExtractionOutput,
  FeatureExtractionParameters,
  FillMaskOutput,
  FillMaskParameters,
  QuestionAnsweringInput,
  QuestionAnsweringOutput,
  QuestionAnsweringParameters,
  SentenceSimilarityInput,
  SentenceSimilarityOutput,
  SummarizationOutput,
  SummarizationParameters,
  Task,
  TextClassificationOutput,
  TextClassificationParameters,
  TextGenerationOutput,
  TextGenerationParameters,
  TextGenerationResponse,
  TextGenerationStreamOutput,
  TextToImageParameters,
  TokenClassificationOutput,
  TokenClassificationParameters,
  TranslationOutput,
  TranslationParameters,
  ZeroShotClassificationOutput,
  ZeroShotClassificationParameters,
} from "./types/hf.js";
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  Completion,
  CompletionRequest,
  Embeddings,
  EmbeddingsRequest,
  ImageGenerationRequest,
  ImagesResponse,
  OpenAIModel,
} from "./types/openai.js";
import type { HubRegistry, ModelMapping, ModelStatus, RegistryModel } from "./types/registry.js";

/** An answer with the server's `Inference-Id` (a non-enumerable property, so it stays out
 * of `JSON.stringify` and equality checks on the data). */
export type WithRequestId<T> = T & { readonly requestId: string | undefined };

/** The model and parameters of a Hugging Face task call. */
export interface TaskCall<P> {
  /** The gateway model id; without it the task's configured default answers (else a 400). */
  model?: string;
  parameters?: P;
}

export class GatewayzClient {
  readonly #t: Transport;

  /**
   * @param apiKey the gateway API key (default: `GATEWAYZ_API_KEY`)
   * @param options base URL (default: `GATEWAYZ_BASE_URL`), timeout, retries, fetch, headers
   */
  constructor(apiKey?: string, options: ClientOptions = {}) {
    const key = apiKey ?? env("GATEWAYZ_API_KEY");
    if (!key) {
      throw new GatewayzError(
        "no API key: pass one to createClient() or set GATEWAYZ_API_KEY",
      );
    }
    this.#t = new Transport(key, { ...options, baseUrl: options.baseUrl ?? env("GATEWAYZ_BASE_URL") });
  }

  get baseUrl(): string {
    return this.#t.baseUrl;
  }

  // -- text generation and chat ------------------------------------------------------

  /** text-generation (`/hf/tasks/text-generation`): HF's `[{generated_text}]` as `output`,
   * with the first element's fields on the result itself. */
  async textGeneration(
    inputs: string,
    call: TaskCall<TextGenerationParameters> = {},
    options?: RequestOptions,
  ): Promise<WithRequestId<TextGenerationResponse>> {
    const { data, requestId } = await this.#t.json<TextGenerationOutput[]>(
      post("/hf/tasks/text-generation", taskBody(inputs, call)),
      options,
    );
    const first = data[0];
    if (first === undefined) {
      throw new GatewayzError("the text-generation answer is empty", 200, requestId);
    }
    return withRequestId({ ...first, output: data }, requestId);
  }

  /** text-generation streamed as TGI token events; the last carries `generated_text`. */
  async textGenerationStream(
    inputs: string,
    call: TaskCall<TextGenerationParameters> = {},
    options?: RequestOptions,
  ): Promise<Stream<TextGenerationStreamOutput>> {
    const body = { ...taskBody(inputs, call), stream: true };
    return this.#t.stream(post("/hf/tasks/text-generation", body), options);
  }

  /** OpenAI chat completion (`/v1/chat/completions`). */
  async chatCompletion(
    request: ChatCompletionRequest,
    options?: RequestOptions,
  ): Promise<WithRequestId<ChatCompletion>> {
    return this.#json(post("/v1/chat/completions", { ...request, stream: false }), options);
  }

  /** OpenAI chat completion streamed as chunks; the last one carries `usage`. */
  async chatCompletionStream(
    request: ChatCompletionRequest,
    options?: RequestOptions,
  ): Promise<Stream<ChatCompletionChunk>> {
    return this.#t.stream(post("/v1/chat/completions", { ...request, stream: true }), options);
  }

  /** OpenAI text completion (`/v1/completions`). */
  async completion(
    request: CompletionRequest,
    options?: RequestOptions,
  ): Promise<WithRequestId<Completion>> {
    return this.#json(post("/v1/completions", { ...request, stream: false }), options);
  }

  async completionStream(
    request: CompletionRequest,
    options?: RequestOptions,
  ): Promise<Stream<Completion>> {
    return this.#t.stream(post("/v1/completions", { ...request, stream: true }), options);
  }

  /** conversational (`/hf/tasks/conversational`): messages (or one user message) in,
   * `[{generated_text}]` out. */
  async conversational(
    inputs: string | ConversationalMessage[],
    call: TaskCall<TextGenerationParameters> = {},
    options?: RequestOptions,
  ): Promise<WithRequestId<ConversationalOutput>> {
    return this.#task("conversational", inputs, call, options);
  }

  // -- other Hugging Face tasks ------------------------------------------------------

  async summarization(
    inputs: string,
    call: TaskCall<SummarizationParameters> = {},
    options?: RequestOptions,
  ): Promise<WithRequestId<SummarizationOutput>> {
    return this.#task("summarization", inputs, call, options);
  }

  /** translation; give both `src_lang` and `tgt_lang` in `parameters`, or neither. */
  async translation(
    inputs: string,
    call: TaskCall<TranslationParameters> = {},
    options?: RequestOptions,
  ): Promise<WithRequestId<TranslationOutput>> {
    return this.#task("translation", inputs, call, options);
  }

  async questionAnswering(
    inputs: QuestionAnsweringInput,
    call: TaskCall<QuestionAnsweringParameters> = {},
    options?: RequestOptions,
  ): Promise<WithRequestId<QuestionAnsweringOutput>> {
    return this.#task("question-answering", inputs, call, options);
  }

  async textClassification(
    inputs: string,
    call: TaskCall<TextClassificationParameters> = {},
    options?: RequestOptions,
  ): Promise<WithRequestId<TextClassificationOutput>> {
    return this.#task("text-classification", inputs, call, options);
  }

  async tokenClassification(
    inputs: string,
    call: TaskCall<TokenClassificationParameters> = {},
    options?: RequestOptions,
  ): Promise<WithRequestId<TokenClassificationOutput>> {
    return this.#task("token-classification", inputs, call, options);
  }

  /** feature-extraction: one vector per text (a single text gives a list of one). */
  async featureExtraction(
    inputs: string | string[],
    call: TaskCall<FeatureExtractionParameters> = {},
    options?: RequestOptions,
  ): Promise<WithRequestId<FeatureExtractionOutput>> {
    return this.#task("feature-extraction", inputs, call, options);
  }

  async sentenceSimilarity(
    inputs: SentenceSimilarityInput,
    call: TaskCall<Record<string, unknown>> = {},
    options?: RequestOptions,
  ): Promise<WithRequestId<SentenceSimilarityOutput>> {
    return this.#task("sentence-similarity", inputs, call, options);
  }

  /** fill-mask; the text holds exactly one `[MASK]` (or `<mask>`). */
  async fillMask(
    inputs: string,
    call: TaskCall<FillMaskParameters> = {},
    options?: RequestOptions,
  ): Promise<WithRequestId<FillMaskOutput>> {
    return this.#task("fill-mask", inputs, call, options);
  }

  async zeroShotClassification(
    inputs: string,
    call: TaskCall<ZeroShotClassificationParameters> & {
      parameters: ZeroShotClassificationParameters;
    },
    options?: RequestOptions,
  ): Promise<WithRequestId<ZeroShotClassificationOutput>> {
    return this.#task("zero-shot-classification", inputs, call, options);
  }

  /** text-to-image: the image (PNG) as a `Blob`. */
  async textToImage(
    inputs: string,
    call: TaskCall<TextToImageParameters> = {},
    options?: RequestOptions,
  ): Promise<WithRequestId<Blob>> {
    const answer = await this.#t.blob(post("/hf/tasks/text-to-image", taskBody(inputs, call)), options);
    return withRequestId(imageOf(answer.data, answer.requestId), answer.requestId);
  }

  /** The generic runner (`/hf/tasks/run`): any task by name; text-to-image gives a Blob.
   * `T` is the answer's type (the task's output type, or `Blob` for text-to-image). */
  async runTask<T = unknown>(
    task: Task | "image-generation" | "embedding",
    inputs: unknown,
    call: TaskCall<Record<string, unknown>> = {},
    options?: RequestOptions,
  ): Promise<WithRequestId<T>> {
    const request = post("/hf/tasks/run", { task, ...taskBody(inputs, call) });
    if (task === "text-to-image" || task === "image-generation") {
      const answer = await this.#t.blob(request, options);
      const image = imageOf(answer.data, answer.requestId) as unknown as T;
      return withRequestId(image, answer.requestId);
    }
    return this.#json<T>(request, options);
  }

  /** OpenAI embeddings (`/v1/embeddings`). */
  async embeddings(
    request: EmbeddingsRequest,
    options?: RequestOptions,
  ): Promise<WithRequestId<Embeddings>> {
    return this.#json(post("/v1/embeddings", request), options);
  }

  /** OpenAI image generation (`/v1/images/generations`): base64 PNGs. */
  async imageGeneration(
    request: ImageGenerationRequest,
    options?: RequestOptions,
  ): Promise<WithRequestId<ImagesResponse>> {
    return this.#json(post("/v1/images/generations", request), options);
  }

  // -- models ------------------------------------------------------------------------

  /** The registry's models (`/hf/tasks/models`), optionally for one task and status. */
  async listModels(
    taskType?: Task,
    filter: { status?: ModelStatus } = {},
    options?: RequestOptions,
  ): Promise<WithRequestId<RegistryModel[]>> {
    const query = { task_type: taskType, status: filter.status };
    const answer = await this.#t.json<{ models: RegistryModel[] }>(get("/hf/tasks/models", query), options);
    return withRequestId(answer.data.models, answer.requestId);
  }

  /** The live models in OpenAI's list shape (`/v1/models`). */
  async openAIModels(options?: RequestOptions): Promise<WithRequestId<OpenAIModel[]>> {
    const answer = await this.#t.json<{ data: OpenAIModel[] }>(get("/v1/models"), options);
    return withRequestId(answer.data.data, answer.requestId);
  }

  /** The registry grouped as Hugging Face lists it (task -> Hub id -> mapping). */
  async modelRegistry(
    filter: { status?: ModelStatus } = {},
    options?: RequestOptions,
  ): Promise<WithRequestId<HubRegistry>> {
    return this.#json(get("/hf/tasks/models/registry", { status: filter.status }), options);
  }

  /** Register or replace a mapping (admin keys). New mappings start in `staging`. */
  async mapModel(
    mapping: ModelMapping,
    options?: RequestOptions,
  ): Promise<WithRequestId<RegistryModel>> {
    return this.#json(post("/hf/tasks/models/map", mapping), options);
  }

  /** Move a mapping between `staging` and `live` (admin keys). */
  async setModelStatus(
    modelId: string,
    status: ModelStatus,
    options?: RequestOptions & { force?: boolean },
  ): Promise<WithRequestId<RegistryModel>> {
    const path = `/hf/tasks/models/${modelPath(modelId)}/status`;
    // Going live needs a current passing `gatewayz hf check` (else ConflictError), unless forced.
    const body = options?.force ? { status, force: true } : { status };
    return this.#json({ method: "PUT", path, body }, options);
  }

  /** Remove a mapping registered through the API (admin keys). */
  async unmapModel(
    modelId: string,
    options?: RequestOptions,
  ): Promise<WithRequestId<{ deleted: string }>> {
    return this.#json({ method: "DELETE", path: `/hf/tasks/models/${modelPath(modelId)}` }, options);
  }

  // -- billing -----------------------------------------------------------------------

  /** What the given (real or hypothetical) usage costs, in nano-USD and USD. */
  async calculateCost(
    requests: CostItem[],
    options?: RequestOptions,
  ): Promise<WithRequestId<CostQuote>> {
    return this.#json(post("/hf/tasks/billing/cost", { requests }), options);
  }

  /** One page of the caller's usage records (admins: any key's) with totals. */
  async getUsage(query: UsageQuery = {}, options?: RequestOptions): Promise<WithRequestId<UsagePage>> {
    return this.#json(get("/hf/tasks/billing/usage", { ...query }), options);
  }

  /** Every usage record matching `query`, page after page. */
  async *iterateUsage(query: UsageQuery = {}, options?: RequestOptions): AsyncGenerator<UsageRecord> {
    let cursor = query.cursor;
    do {
      const page = await this.getUsage({ ...query, cursor }, options);
      yield* page.data;
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
  }

  /** Hugging Face's billing lookup (`/v1/billing/requests`, admin and partner keys): the
   * cost of each known request id. */
  async billingLookup(
    requestIds: string[],
    options?: RequestOptions,
  ): Promise<WithRequestId<RequestCosts>> {
    return this.#json(post("/v1/billing/requests", { requestIds }), options);
  }

  /** The key's prepaid balance (`unlimited` when it has none). */
  async getBalance(options?: RequestOptions): Promise<WithRequestId<Balance>> {
    return this.#json(get("/v1/billing/balance"), options);
  }

  // -- plumbing ----------------------------------------------------------------------

  async #json<T>(call: Call, options: RequestOptions | undefined): Promise<WithRequestId<T>> {
    const { data, requestId } = await this.#t.json<T>(call, options);
    return withRequestId(data, requestId);
  }

  async #task<T>(
    task: string,
    inputs: unknown,
    call: TaskCall<unknown>,
    options: RequestOptions | undefined,
  ): Promise<WithRequestId<T>> {
    return this.#json(post(`/hf/tasks/${task}`, taskBody(inputs, call)), options);
  }
}

/** A client for the gateway at `options.baseUrl` (or `GATEWAYZ_BASE_URL`) with `apiKey`
 * (or `GATEWAYZ_API_KEY`). */
export function createClient(apiKey?: string, options?: ClientOptions): GatewayzClient {
  return new GatewayzClient(apiKey, options);
}

function post(path: string, body: unknown): Call {
  return { method: "POST", path, body };
}

function get(path: string, query?: Query): Call {
  return { method: "GET", path, query };
}

function taskBody(inputs: unknown, call: TaskCall<unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = { inputs };
  if (call.parameters !== undefined) body["parameters"] = call.parameters;
  if (call.model !== undefined) body["model"] = call.model;
  return body;
}

function modelPath(modelId: string): string {
  return modelId.split("/").map(encodeURIComponent).join("/");
}

function imageOf(blob: Blob, requestId: string | undefined): Blob {
  if (!blob.type.startsWith("image/")) {
    throw new GatewayzError(`expected an image, got ${blob.type || "no content type"}`, 200, requestId);
  }
  return blob;
}

function withRequestId<T>(data: T, requestId: string | undefined): WithRequestId<T> {
  if (typeof data === "object" && data !== null) {
    Object.defineProperty(data, "requestId", { value: requestId, enumerable: false });
  }
  return data as WithRequestId<T>;
}

function env(name: string): string | undefined {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const value = proc?.env?.[name];
  return value ? value : undefined;
}
