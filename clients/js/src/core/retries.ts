/** Retry rules as constants and pure functions (the same rules as the gateway's upstream
 * calls and the Python client): retry 408, 409, 429 and 5xx answers and failed
 * connections (a server may decide with `x-should-retry: true|false`), back off
 * exponentially with jitter, and honour a positive `Retry-After` of at most a minute. */

export const DEFAULT_MAX_RETRIES = 2;
export const DEFAULT_TIMEOUT_MS = 60_000;
export const INITIAL_RETRY_DELAY_MS = 500;
export const MAX_RETRY_DELAY_MS = 8_000;
/** A server's `Retry-After` is followed when it asks for at most this long. */
export const MAX_RETRY_AFTER_MS = 60_000;
const RETRY_STATUSES = new Set([408, 409, 429]);

export function shouldRetryStatus(
  status: number,
  headers?: { get(name: string): string | null },
): boolean {
  const explicit = headers?.get("x-should-retry");
  if (explicit === "true") return true;
  if (explicit === "false") return false;
  return RETRY_STATUSES.has(status) || status >= 500;
}

/** Milliseconds asked for by `retry-after-ms` or `Retry-After` (seconds or an HTTP date),
 * or undefined when absent, unparsable, or out of range. */
export function retryAfterMs(
  headers: { get(name: string): string | null } | undefined,
  now: number = Date.now(),
): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get("retry-after-ms");
  if (ms !== null && ms.trim() !== "" && Number.isFinite(Number(ms))) {
    return inRange(Number(ms));
  }
  const value = headers.get("retry-after");
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return inRange(seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : inRange(date - now);
}

function inRange(ms: number): number | undefined {
  return ms > 0 && ms <= MAX_RETRY_AFTER_MS ? ms : undefined;
}

/** How long to wait before retry number `attempt` (1 for the first retry). */
export function retryDelayMs(
  attempt: number,
  retryAfter: number | undefined,
  random: () => number = Math.random,
): number {
  if (retryAfter !== undefined) return retryAfter;
  const backoff = Math.min(INITIAL_RETRY_DELAY_MS * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS);
  // Up to 25% less than the backoff, so that clients failing together do not retry together.
  return backoff * (1 - 0.25 * random());
}
