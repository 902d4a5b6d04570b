// Calls every task of a generated huggingface.js provider through the installed
// @huggingface/inference. Its package exports hide the provider table, so the built modules
// under its dist/ are imported by path: the provider's helpers are registered in PROVIDERS,
// and HARDCODED_MODEL_INFERENCE_MAPPING stands in for the Hub's mappings, as the library's
// own tests do.
//
// argv[2]: a JSON object {dist, provider, name, key, classes: {task: class}, calls: [{task,
// method, args, mapping}]}. Prints one JSON line per call: {task, ok, output | error}.
import { pathToFileURL } from "node:url";

const spec = JSON.parse(process.argv[2]);
const dist = (rel) => pathToFileURL(`${spec.dist}/${rel}`).href;

const { InferenceClient } = await import(dist("index.js"));
const { PROVIDERS } = await import(dist("lib/getProviderHelper.js"));
const { HARDCODED_MODEL_INFERENCE_MAPPING } = await import(dist("providers/consts.js"));
const provider = await import(pathToFileURL(spec.provider).href);

PROVIDERS[spec.name] = Object.fromEntries(
	Object.entries(spec.classes).map(([task, cls]) => [task, new provider[cls]()]),
);
const client = new InferenceClient(spec.key);

async function summary(value) {
	if (value instanceof Blob) {
		const bytes = new Uint8Array(await value.arrayBuffer());
		return { blob: value.type, size: bytes.length, png: bytes[1] === 0x50 && bytes[2] === 0x4e };
	}
	return value;
}

for (const call of spec.calls) {
	HARDCODED_MODEL_INFERENCE_MAPPING[spec.name] = { [call.mapping.hfModelId]: call.mapping };
	const args = { ...call.args, model: call.mapping.hfModelId, provider: spec.name };
	try {
		let output;
		if (call.stream) {
			output = [];
			for await (const chunk of client[call.method](args)) {
				output.push(chunk);
			}
		} else {
			output = await summary(await client[call.method](args));
		}
		console.log(JSON.stringify({ task: call.task, method: call.method, ok: true, output }));
	} catch (error) {
		console.log(
			JSON.stringify({
				task: call.task,
				method: call.method,
				ok: false,
				error: `${error?.name}: ${error?.message}`,
				status: error?.response?.status,
			}),
		);
	}
}
