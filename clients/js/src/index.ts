/** gatewayz-js-hf: the TypeScript client for the Gatewayz inference gateway. */

export { createClient, GatewayzClient } from "./client.js";
export type { TaskCall, WithRequestId } from "./client.js";
export {
  APIConnectionError,
  APIStatusError,
  APIStreamError,
  APITimeoutError,
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  GatewayzError,
  InsufficientCreditsError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  UnprocessableEntityError,
} from "./core/errors.js";
export {
  DEFAULT_MAX_RETRIES,
  DEFAULT_TIMEOUT_MS,
  INITIAL_RETRY_DELAY_MS,
  MAX_RETRY_DELAY_MS,
} from "./core/retries.js";
export { Stream } from "./core/stream.js";
export { DEFAULT_BASE_URL, VERSION } from "./core/transport.js";
export type { ClientOptions, FetchLike, RequestOptions } from "./core/transport.js";
export type * from "./types/billing.js";
export type * from "./types/hf.js";
export type * from "./types/openai.js";
export type * from "./types/registry.js";
