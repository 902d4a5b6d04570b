// Type-checked by the package test as an ES module TypeScript consumer of the packed package.
import { createClient, type Stream, type ChatCompletionChunk } from "gatewayz-js-hf";

const client = createClient("key");
const stream: Stream<ChatCompletionChunk> = await client.chatCompletionStream({
  messages: [{ role: "user", content: "hi" }],
});
for await (const chunk of stream) {
  const text: string | null | undefined = chunk.choices[0]?.delta.content;
  void text;
}
const image: Blob = await client.textToImage("a fox");
void image;
