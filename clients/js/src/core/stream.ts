/** Server-sent events as an async iterable of parsed JSON chunks. */

import { APIConnectionError, APIStreamError, APIUserAbortError, parseErrorBody } from "./errors.js";

/** A streamed answer: iterate it with `for await`; iterate it once. */
export class Stream<T> implements AsyncIterable<T> {
  /** The server's `Inference-Id` for this request. */
  readonly requestId: string | undefined;
  readonly response: Response;
  readonly #controller: AbortController;
  #consumed = false;

  constructor(response: Response, controller: AbortController, requestId: string | undefined) {
    this.response = response;
    this.requestId = requestId;
    this.#controller = controller;
  }

  /** Stop the stream and close the connection. */
  abort(): void {
    this.#controller.abort();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.#consumed) throw new Error("a Stream can be iterated only once");
    this.#consumed = true;
    const body = this.response.body;
    if (body === null) return;
    let finished = false;
    try {
      for await (const data of sseData(body)) {
        if (data === "[DONE]") {
          finished = true;
          return;
        }
        const chunk: unknown = JSON.parse(data);
        if (isErrorEvent(chunk)) {
          const parsed = parseErrorBody(chunk);
          throw new APIStreamError(parsed.message ?? "the stream failed", {
            requestId: this.requestId,
            type: parsed.type,
            code: parsed.code,
          });
        }
        yield chunk as T;
      }
      finished = true;
    } catch (err) {
      if (err instanceof APIStreamError || err instanceof SyntaxError) throw err;
      if (this.#controller.signal.aborted) throw new APIUserAbortError("the stream was aborted");
      throw new APIConnectionError("the stream was cut off", { cause: err });
    } finally {
      // A consumer that stops early (break, return, throw) closes the connection.
      if (!finished) this.#controller.abort();
    }
  }

  /** Every chunk, collected. */
  async toArray(): Promise<T[]> {
    const out: T[] = [];
    for await (const chunk of this) out.push(chunk);
    return out;
  }
}

function isErrorEvent(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && "error" in value;
}

/** The `data` of each event in an SSE body (multi-line data joined with newlines). */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let buffer = "";
  let data: string[] = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
        // A "\r" at the very end may be the first half of a "\r\n" split across chunks.
        if (!done && newline === buffer.length - 1 && buffer.endsWith("\r")) break;
        const line = buffer.slice(0, newline);
        const width = buffer.startsWith("\r\n", newline) ? 2 : 1;
        buffer = buffer.slice(newline + width);
        if (line === "") {
          if (data.length > 0) yield data.join("\n");
          data = [];
        } else if (line.startsWith("data:")) {
          data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
        }
        // Other fields (event, id, retry) and comments are not used by the gateway.
      }
      if (done) break;
    }
    if (buffer.startsWith("data:")) data.push(buffer.slice(buffer.startsWith("data: ") ? 6 : 5));
    if (data.length > 0) yield data.join("\n");
  } finally {
    reader.releaseLock();
  }
}
