/** OpenAI-shaped requests and answers (`/v1/...`). */

export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool" | (string & {});
  content: string | unknown[] | null;
  [extra: string]: unknown;
}

interface Sampling {
  /** The gateway model id (optional: the task's configured default answers, else a 400). */
  model?: string;
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  n?: number;
  stop?: string | string[];
  seed?: number;
  [extra: string]: unknown;
}

export interface ChatCompletionRequest extends Sampling {
  messages: ChatMessage[];
}

export interface CompletionRequest extends Sampling {
  prompt: string | string[];
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ChatCompletion {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: { role: string; content: string | null; [extra: string]: unknown };
    finish_reason: string | null;
    logprobs?: unknown;
  }>;
  usage?: Usage;
}

export interface ChatCompletionChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: { role?: string; content?: string | null; [extra: string]: unknown };
    finish_reason: string | null;
    logprobs?: unknown;
  }>;
  /** On the last chunk. */
  usage?: Usage | null;
}

export interface Completion {
  id: string;
  object: "text_completion";
  created: number;
  model: string;
  choices: Array<{ index: number; text: string; finish_reason: string | null; logprobs?: unknown }>;
  usage?: Usage;
}

export interface EmbeddingsRequest {
  input: string | string[];
  model?: string;
  encoding_format?: "float" | "base64";
  dimensions?: number;
}

export interface Embeddings {
  object: "list";
  data: Array<{ object: "embedding"; index: number; embedding: number[] | string }>;
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

export interface ImageGenerationRequest {
  prompt: string;
  model?: string;
  n?: 1;
  /** `"WIDTHxHEIGHT"`, e.g. `"512x512"`. */
  size?: string;
  response_format?: "b64_json";
  seed?: number;
  negative_prompt?: string;
}

export interface ImagesResponse {
  created: number;
  data: Array<{ b64_json: string }>;
}

export interface OpenAIModel {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
  hub_model_id: string;
  task: string;
  /** USD per million tokens. */
  pricing: { input: number; output: number };
  context_length: number;
}
