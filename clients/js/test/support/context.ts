/** What every test needs: the live gateway and clients for its keys. */

import { createClient, type ClientOptions, type GatewayzClient } from "gatewayz-js-hf";
import { inject } from "vitest";

export const gateway = inject("gateway");

export function client(
  key: keyof typeof gateway.keys = "user",
  options: ClientOptions = {},
): GatewayzClient {
  return createClient(gateway.keys[key], { baseUrl: gateway.url, ...options });
}
