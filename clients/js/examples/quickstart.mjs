// Generates text, counts the text-generation models and prices a request. Needs a gateway
// with a model "gpt-3.5-turbo" (see the README, "A second example"); the key comes from
// GATEWAYZ_API_KEY and the address from GATEWAYZ_BASE_URL. Run: node examples/quickstart.mjs
import { createClient } from "gatewayz-js-hf";

const client = createClient(process.env.GATEWAYZ_API_KEY);

// Text generation
const response = await client.textGeneration(
  "The future of AI is"
);
console.log(response.output[0].generated_text);

// List models
const models = await client.listModels("text-generation");
console.log(`Available: ${models.length} text-generation models`);

// Calculate cost
const cost = await client.calculateCost([{
  task: "text-generation",
  model: "gpt-3.5-turbo",
  input_tokens: 100,
  output_tokens: 50
}]);
console.log(`Cost: $${cost.total_cost_usd}`);
