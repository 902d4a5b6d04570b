// Type-checked by the package test as a CommonJS TypeScript consumer of the packed package.
import { createClient, NotFoundError, type TextGenerationResponse } from "gatewayz-js-hf";

const client = createClient("key", { baseUrl: "http://127.0.0.1:1", maxRetries: 0 });
const pending: Promise<TextGenerationResponse> = client.textGeneration("hi");
export const check = (e: unknown): boolean => e instanceof NotFoundError && pending !== undefined;
