/** A tiny real HTTP server that answers from a script, for retry and timeout tests. */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
  at: number;
}

export type Reply = (res: ServerResponse, seen: Seen) => void;

export class ScriptedServer {
  readonly seen: Seen[] = [];
  #server: Server;
  #replies: Reply[];
  #fallback: Reply;

  private constructor(replies: Reply[], fallback: Reply) {
    this.#replies = [...replies];
    this.#fallback = fallback;
    this.#server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        const seen = {
          method: req.method ?? "",
          url: req.url ?? "",
          headers: req.headers,
          body,
          at: Date.now(),
        };
        this.seen.push(seen);
        (this.#replies.shift() ?? this.#fallback)(res, seen);
      });
    });
  }

  /** Answers `replies` in order, then `fallback` for every later request. */
  static async start(replies: Reply[], fallback: Reply = json(200, { ok: true })) {
    const server = new ScriptedServer(replies, fallback);
    await new Promise<void>((r) => server.#server.listen(0, "127.0.0.1", r));
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((r) => this.#server.close(r));
  }
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return (res) => {
    res.writeHead(status, {
      "content-type": "application/json",
      "inference-id": `req-${status}-${Math.random().toString(16).slice(2, 10)}`,
      ...headers,
    });
    res.end(JSON.stringify(body));
  };
}

/** Never answers (until the server closes). */
export const hang: Reply = () => undefined;

/** Drops the connection without an answer. */
export const drop: Reply = (res) => {
  res.socket?.destroy();
};
