/**
 * The client's one error hierarchy (the same tree as the Python client's):
 *
 *     GatewayzError
 *     ├── APIStatusError                 the server answered with an error status
 *     │   ├── BadRequestError            400
 *     │   ├── AuthenticationError        401
 *     │   ├── InsufficientCreditsError   402
 *     │   ├── PermissionDeniedError      403
 *     │   ├── NotFoundError              404
 *     │   ├── ConflictError              409
 *     │   ├── UnprocessableEntityError   422
 *     │   ├── RateLimitError             429
 *     │   └── InternalServerError        5xx
 *     ├── APIStreamError                 an error event in the middle of a stream
 *     ├── APIConnectionError             no answer (refused, reset, DNS, ...)
 *     │   └── APITimeoutError            no answer within the timeout
 *     └── APIUserAbortError              the caller's AbortSignal fired
 *
 * Every error carries `status` (undefined when there was no answer), `message` and
 * `requestId` (the server's `Inference-Id`). Messages come from the server's error body or
 * from the transport; the API key is never part of them.
 */

export type Headers = Record<string, string>;

export class GatewayzError extends Error {
  readonly status: number | undefined;
  readonly requestId: string | undefined;

  constructor(message: string, status?: number, requestId?: string) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.requestId = requestId;
  }
}

export class APIStatusError extends GatewayzError {
  declare readonly status: number;
  /** The parsed error body (or its text when it is not JSON). */
  readonly body: unknown;
  /** The error's machine-readable type and code, on `/v1/...` routes. */
  readonly type: string | undefined;
  readonly code: string | undefined;
  readonly headers: Headers;

  constructor(status: number, message: string, details: ErrorDetails = {}) {
    super(message, status, details.requestId);
    this.body = details.body;
    this.type = details.type;
    this.code = details.code;
    this.headers = details.headers ?? {};
  }
}

export interface ErrorDetails {
  requestId?: string | undefined;
  body?: unknown;
  type?: string | undefined;
  code?: string | undefined;
  headers?: Headers;
}

export class BadRequestError extends APIStatusError {}
export class AuthenticationError extends APIStatusError {}
export class InsufficientCreditsError extends APIStatusError {}
export class PermissionDeniedError extends APIStatusError {}
export class NotFoundError extends APIStatusError {}
export class ConflictError extends APIStatusError {}
export class UnprocessableEntityError extends APIStatusError {}
export class RateLimitError extends APIStatusError {}
export class InternalServerError extends APIStatusError {}

/** The server reported an error after a stream had started (its status was already 200). */
export class APIStreamError extends GatewayzError {
  readonly type: string | undefined;
  readonly code: string | undefined;

  constructor(message: string, details: { requestId?: string; type?: string; code?: string }) {
    super(message, undefined, details.requestId);
    this.type = details.type;
    this.code = details.code;
  }
}

export class APIConnectionError extends GatewayzError {
  constructor(message = "could not reach the gateway", options?: { cause?: unknown }) {
    super(message);
    if (options?.cause !== undefined) {
      Object.defineProperty(this, "cause", { value: options.cause, enumerable: false });
    }
  }
}

export class APITimeoutError extends APIConnectionError {
  constructor(message = "the request timed out") {
    super(message);
  }
}

export class APIUserAbortError extends GatewayzError {
  constructor(message = "the request was aborted") {
    super(message);
  }
}

const BY_STATUS: Record<number, typeof APIStatusError> = {
  400: BadRequestError,
  401: AuthenticationError,
  402: InsufficientCreditsError,
  403: PermissionDeniedError,
  404: NotFoundError,
  409: ConflictError,
  422: UnprocessableEntityError,
  429: RateLimitError,
};

/** The error for an error status, from the body in either of the gateway's shapes:
 * `{"error": {"message", "type", "code", "request_id"}}` (`/v1/...`) or
 * `{"error": "...", "request_id"}` (Hugging Face routes). */
export function makeStatusError(
  status: number,
  body: unknown,
  headers: Headers,
  requestId: string | undefined,
): APIStatusError {
  const parsed = parseErrorBody(body);
  const message = parsed.message ?? `the gateway answered ${status}`;
  const ErrorClass = BY_STATUS[status] ?? (status >= 500 ? InternalServerError : APIStatusError);
  return new ErrorClass(status, message, {
    requestId: requestId ?? parsed.requestId,
    body,
    type: parsed.type,
    code: parsed.code,
    headers,
  });
}

export interface ParsedError {
  message?: string;
  type?: string;
  code?: string;
  requestId?: string;
}

export function parseErrorBody(body: unknown): ParsedError {
  if (typeof body === "string") {
    return body.trim() ? { message: body.trim().slice(0, 500) } : {};
  }
  if (!isObject(body)) return {};
  const error = body["error"];
  if (typeof error === "string") {
    return {
      message: error,
      type: stringOr(body["error_type"]),
      requestId: stringOr(body["request_id"]),
    };
  }
  if (isObject(error)) {
    return {
      message: stringOr(error["message"]),
      type: stringOr(error["type"]),
      code: stringOr(error["code"]),
      requestId: stringOr(error["request_id"]),
    };
  }
  return { message: stringOr(body["message"]) ?? stringOr(body["detail"]) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringOr(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}
