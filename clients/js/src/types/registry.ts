/** The model registry (`/hf/tasks/models`). */

import type { Task } from "./hf.js";

export type ModelStatus = "staging" | "live";

export interface ModelRoute {
  provider: string;
  model: string;
  priority?: number;
  weight?: number;
}

/** Prices as decimal strings (never floats): USD per million tokens, per image, per
 * request, per 1,000 input characters. */
export interface ModelPricing {
  input_per_million_usd?: string;
  output_per_million_usd?: string;
  per_image_usd?: string;
  per_request_usd?: string;
  per_1k_chars_usd?: string;
}

export interface RegistryModel {
  provider_model_id: string;
  hub_model_id: string;
  task_type: Task;
  tasks: Task[];
  status: ModelStatus;
  context_length: number;
  pricing: Required<ModelPricing>;
  /** Admin keys only: the upstream routes (other keys see live models' public fields). */
  routes?: Array<Required<ModelRoute>>;
  adapter_type: "lora" | null;
  base_model: string | null;
  /** Admin keys only: "config" (the config file owns it) or "api" (registered through the API). */
  source?: string;
}

/** `POST /hf/tasks/models/map` (admin keys). */
export interface ModelMapping {
  provider_model_id: string;
  hub_model_id: string;
  task_type: Task;
  routes: ModelRoute[];
  tasks?: Task[];
  status?: ModelStatus;
  pricing?: ModelPricing;
  context_length?: number;
  adapter_type?: "lora" | null;
  base_model?: string | null;
}

/** The registry as Hugging Face lists it: task -> Hub model id -> mapping. */
export type HubRegistry = Record<
  string,
  Record<string, { providerId: string; status: ModelStatus; [extra: string]: unknown }>
>;
