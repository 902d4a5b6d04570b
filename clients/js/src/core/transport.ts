/** One HTTP exchange with the gateway: headers, timeout, retries, and error mapping. */

import {
  APIConnectionError,
  APITimeoutError,
  APIUserAbortError,
  GatewayzError,
  type Headers,
  makeStatusError,
} from "./errors.js";
import {
  DEFAULT_MAX_RETRIES,
  DEFAULT_TIMEOUT_MS,
  retryAfterMs,
  retryDelayMs,
  shouldRetryStatus,
} from "./retries.js";
import { Stream } from "./stream.js";

export const DEFAULT_BASE_URL = "http://127.0.0.1:8000";
export const VERSION = "0.1.0";

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface ClientOptions {
  /** The gateway's root URL (default `GATEWAYZ_BASE_URL`, else http://127.0.0.1:8000). */
  baseUrl?: string;
  /** Milliseconds per attempt before giving up with `APITimeoutError` (default 60 000). */
  timeout?: number;
  /** Retries after a failed attempt (default 2). */
  maxRetries?: number;
  /** A `fetch` to use instead of the platform's. */
  fetch?: FetchLike;
  /** Headers sent with every request. */
  defaultHeaders?: Record<string, string>;
}

/** Per-call options, overriding the client's. */
export interface RequestOptions {
  timeout?: number;
  maxRetries?: number;
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export interface Call {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  body?: unknown;
  query?: Query | undefined;
}

export interface Answer<T> {
  data: T;
  requestId: string | undefined;
}

type Expect = "json" | "blob";

export class Transport {
  readonly baseUrl: string;
  readonly timeout: number;
  readonly maxRetries: number;
  readonly #apiKey: string | undefined;
  readonly #fetch: FetchLike;
  readonly #headers: Record<string, string>;

  constructor(apiKey: string | undefined, options: ClientOptions) {
    this.#apiKey = apiKey;
    this.baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
    this.timeout = checkCount("timeout", options.timeout ?? DEFAULT_TIMEOUT_MS);
    this.maxRetries = checkCount("maxRetries", options.maxRetries ?? DEFAULT_MAX_RETRIES);
    const platformFetch = globalThis.fetch as FetchLike | undefined;
    const chosen = options.fetch ?? platformFetch;
    if (chosen === undefined) {
      throw new GatewayzError("no fetch() on this platform: pass one in the `fetch` option");
    }
    // Called unbound, `fetch` throws "Illegal invocation" in browsers.
    this.#fetch = options.fetch ?? ((input, init) => chosen.call(globalThis, input, init));
    this.#headers = { ...(options.defaultHeaders ?? {}) };
  }

  async json<T>(call: Call, options?: RequestOptions): Promise<Answer<T>> {
    return this.#exchange<T>(call, options, "json");
  }

  async blob(call: Call, options?: RequestOptions): Promise<Answer<Blob>> {
    return this.#exchange<Blob>(call, options, "blob");
  }

  /** A streamed call: retried like any other until the answer's status line arrives. */
  async stream<T>(call: Call, options?: RequestOptions): Promise<Stream<T>> {
    const { response, controller, timer } = await this.#send(call, options, true);
    clearTimeout(timer.id);
    return new Stream<T>(response, controller, inferenceId(response));
  }

  async #exchange<T>(call: Call, options: RequestOptions | undefined, expect: Expect) {
    const { response, timer } = await this.#send(call, options, false);
    try {
      const data = expect === "blob" ? await response.blob() : await response.json();
      return { data: data as T, requestId: inferenceId(response) };
    } catch (err) {
      throw readFailure(err, timer.fired, options?.signal, response);
    } finally {
      clearTimeout(timer.id);
    }
  }

  async #send(call: Call, options: RequestOptions | undefined, streaming: boolean) {
    const url = this.#url(call);
    const maxRetries = checkCount("maxRetries", options?.maxRetries ?? this.maxRetries);
    const timeout = checkCount("timeout", options?.timeout ?? this.timeout);
    const init: RequestInit = {
      method: call.method,
      headers: this.#requestHeaders(call, options, streaming),
    };
    if (call.body !== undefined) init.body = JSON.stringify(call.body);
    for (let attempt = 0; ; attempt++) {
      const controller = new AbortController();
      const unlink = linkSignal(options?.signal, controller);
      const timer = startTimer(timeout, controller);
      let response: Response;
      try {
        response = await this.#fetch(url, { ...init, signal: controller.signal });
      } catch (err) {
        clearTimeout(timer.id);
        unlink();
        if (options?.signal?.aborted) throw new APIUserAbortError();
        const failure = timer.fired
          ? new APITimeoutError(`no answer within ${timeout} ms`)
          : new APIConnectionError(`could not reach the gateway at ${this.baseUrl}`, {
              cause: err,
            });
        if (attempt >= maxRetries) throw failure;
        await sleep(retryDelayMs(attempt + 1, undefined), options?.signal);
        continue;
      }
      if (response.ok) {
        // The caller's signal stays linked: it can still abort reading the body.
        return { response, controller, timer };
      }
      const body = await readErrorBody(response);
      clearTimeout(timer.id);
      unlink();
      if (shouldRetryStatus(response.status, response.headers) && attempt < maxRetries) {
        const wait = retryDelayMs(attempt + 1, retryAfterMs(response.headers));
        await sleep(wait, options?.signal);
        continue;
      }
      throw makeStatusError(
        response.status,
        body,
        headersOf(response),
        inferenceId(response) ?? undefined,
      );
    }
  }

  #url(call: Call): string {
    const url = `${this.baseUrl}${call.path}`;
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(call.query ?? {})) {
      if (value !== undefined && value !== null) params.set(name, String(value));
    }
    const text = params.toString();
    return text ? `${url}?${text}` : url;
  }

  #requestHeaders(
    call: Call,
    options: RequestOptions | undefined,
    streaming: boolean,
  ): Record<string, string> {
    const headers: Record<string, string> = {
      Accept: streaming ? "text/event-stream" : "application/json",
      ...this.#headers,
      ...(options?.headers ?? {}),
    };
    if (call.body !== undefined) headers["Content-Type"] = "application/json";
    if (this.#apiKey) headers["Authorization"] = `Bearer ${this.#apiKey}`;
    return headers;
  }
}

function checkCount(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new GatewayzError(`${name} must be a non-negative number; got ${value}`);
  }
  return value;
}

export function inferenceId(response: Response): string | undefined {
  return response.headers.get("inference-id") ?? undefined;
}

function headersOf(response: Response): Headers {
  const out: Headers = {};
  response.headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

async function readErrorBody(response: Response): Promise<unknown> {
  let text: string;
  try {
    text = await response.text();
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function readFailure(
  err: unknown,
  timedOut: boolean,
  signal: AbortSignal | undefined,
  response: Response,
): GatewayzError {
  if (signal?.aborted) return new APIUserAbortError();
  if (timedOut) return new APITimeoutError("the answer did not arrive within the timeout");
  if (err instanceof SyntaxError) {
    return new GatewayzError(
      "the gateway's answer is not valid JSON",
      response.status,
      inferenceId(response),
    );
  }
  return new APIConnectionError("the connection broke while reading the answer", {
    cause: err,
  });
}

interface Timer {
  id: ReturnType<typeof setTimeout> | undefined;
  fired: boolean;
}

function startTimer(ms: number, controller: AbortController): Timer {
  const timer: Timer = { id: undefined, fired: false };
  timer.id = setTimeout(() => {
    timer.fired = true;
    controller.abort();
  }, ms);
  return timer;
}

/** Abort `controller` when `signal` does; returns a function that unlinks them. */
function linkSignal(signal: AbortSignal | undefined, controller: AbortController): () => void {
  if (!signal) return () => undefined;
  if (signal.aborted) {
    controller.abort();
    return () => undefined;
  }
  const abort = (): void => controller.abort();
  signal.addEventListener("abort", abort, { once: true });
  return () => signal.removeEventListener("abort", abort);
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new APIUserAbortError());
      return;
    }
    const onAbort = (): void => {
      clearTimeout(id);
      reject(new APIUserAbortError());
    };
    const id = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
