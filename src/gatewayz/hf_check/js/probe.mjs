// gatewayz hf check's probes through @huggingface/inference (run by hf_check/js_client.py).
//
// Reads one JSON object on stdin: {library, url, key, model, task}, where library is the
// directory of an installed @huggingface/inference package. Calls the task's method of its
// InferenceClient with endpointUrl the model's URL on the gateway (the library's hf-inference
// helpers then speak the gateway's /models/{id} routes), checks the parsed output's shape,
// times the answer (the first streamed token for chat and text generation) and reads each
// response's Inference-Id through the custom fetch the library accepts. Prints one JSON line
// per probe: {probe, result: "pass"|"fail"|"skip", reason, latency_ms}. Never prints the key.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const FIRST_TOKEN_BOUND_S = 5;
const ANSWER_BOUND_S = 30;
const CALL_TIMEOUT_MS = 120_000;
const MAX_TOKENS = 24;
const MAX_REASON = 400;

const spec = JSON.parse(readFileSync(0, "utf8"));

async function load(library) {
	const pkg = JSON.parse(readFileSync(join(library, "package.json"), "utf8"));
	const entry = pkg.exports?.["."]?.import?.default ?? pkg.module ?? pkg.main ?? "index.js";
	const module = await import(pathToFileURL(join(library, entry)).href);
	if (typeof module.InferenceClient !== "function") throw new Error("it exports no InferenceClient");
	return module.InferenceClient;
}

let InferenceClient;
try {
	InferenceClient = await load(spec.library);
} catch (error) {
	row("js_client", "fail", `cannot load @huggingface/inference from ${spec.library}: ${reasonOf(error)}`);
	process.exit(0);
}

// The last response's Inference-Id, seen by the fetch the client is given.
let lastId = null;
const recordingFetch = async (url, init) => {
	const response = await fetch(url, init);
	lastId = response.headers.get("inference-id");
	return response;
};
const client = new InferenceClient(spec.key, { fetch: recordingFetch, retry_on_error: false });
const target = { endpointUrl: `${spec.url}/models/${spec.model}`, model: spec.model };
const options = () => ({ signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });

function row(probe, result, reason = null, seconds = null) {
	const latency_ms = seconds === null ? null : Math.round(seconds * 1000);
	console.log(JSON.stringify({ probe, result, reason, latency_ms }));
}

function reasonOf(error) {
	const status = error?.httpResponse?.status;
	// The library decodes {"error": "..."} but not the OpenAI family's {"error": {"message"}}.
	const said = error?.httpResponse?.body?.error?.message;
	let text = `${error?.name ?? "Error"}: ${String(error?.message ?? error)}`;
	if (typeof said === "string" && !text.includes(said)) text += ` The gateway said: ${said}`;
	if (status !== undefined && !text.includes(String(status))) text += ` (HTTP ${status})`;
	text = text.replace(/\s+/g, " ");
	if (spec.key) text = text.split(spec.key).join("***"); // a key echoed in an error is never printed
	return text.length <= MAX_REASON ? text : `${text.slice(0, MAX_REASON - 3)}...`;
}

const isText = (v) => typeof v === "string" && v.trim().length > 0;
const isNumber = (v) => typeof v === "number" && Number.isFinite(v);

function labels(out) {
	if (!Array.isArray(out) || out.length === 0) return "expected a non-empty list of {label, score}";
	const ok = out.every((o) => isText(o?.label) && isNumber(o?.score));
	return ok ? null : "every element needs a label (text) and a score (number)";
}

function numbers(out, depth = 0) {
	if (!Array.isArray(out) || out.length === 0 || depth > 3) return false;
	return out.every((x) => (Array.isArray(x) ? numbers(x, depth + 1) : isNumber(x)));
}

const SUMMARIZE =
	"The tower is 324 metres tall, about the same height as an 81-storey building, and the " +
	"tallest structure in Paris. Its base is square, measuring 125 metres on each side.";
const CANDIDATES = ["refund", "legal", "faq"];
const OTHERS = ["That is a happy dog", "Today is a sunny day"];

// Each task: how to call it, and why its parsed output lacks the task's shape (or null).
const TASKS = {
	summarization: {
		call: () => client.summarization({ ...target, inputs: SUMMARIZE }, options()),
		shape: (o) => (isText(o?.summary_text) ? null : "summary_text is empty"),
	},
	translation: {
		call: () =>
			client.translation({ ...target, inputs: "My name is Wolfgang and I live in Berlin." }, options()),
		shape: (o) => (isText(o?.translation_text) ? null : "translation_text is empty"),
	},
	"question-answering": {
		call: () =>
			client.questionAnswering(
				{
					...target,
					inputs: { question: "Where do I live?", context: "My name is Sarah and I live in London." },
				},
				options(),
			),
		shape: (o) => (isText(o?.answer) && isNumber(o?.score) ? null : "expected an answer (text) and a score"),
	},
	"text-classification": {
		call: () => client.textClassification({ ...target, inputs: "I like you. I love you." }, options()),
		shape: labels,
	},
	"zero-shot-classification": {
		call: () =>
			client.zeroShotClassification(
				{
					...target,
					inputs: "I bought a device that does not work and I would like to get reimbursed!",
					parameters: { candidate_labels: CANDIDATES },
				},
				options(),
			),
		shape: (o) => {
			const why = labels(o);
			const seen = why === null ? new Set(o.map((x) => x.label)) : new Set();
			const all = seen.size === CANDIDATES.length && CANDIDATES.every((c) => seen.has(c));
			return why ?? (all ? null : `expected one score per candidate label ${JSON.stringify(CANDIDATES)}`);
		},
	},
	"token-classification": {
		call: () =>
			client.tokenClassification(
				{ ...target, inputs: "My name is Sarah Jessica Parker and I live in London" },
				options(),
			),
		shape: (o) => {
			if (!Array.isArray(o) || o.length === 0) return "expected a non-empty list of entities";
			const ok = o.every((e) => isText(e?.word) && isNumber(e?.score) && (e.entity_group ?? e.entity) != null);
			return ok ? null : "every entity needs a word, a score and an entity_group";
		},
	},
	"feature-extraction": {
		call: () =>
			client.featureExtraction(
				{ ...target, inputs: "Today is a sunny day and I will get some ice cream." },
				options(),
			),
		shape: (o) => (numbers(o) ? null : "expected a non-empty array of finite numbers"),
	},
	"sentence-similarity": {
		call: () =>
			client.sentenceSimilarity(
				{ ...target, inputs: { source_sentence: "That is a happy person", sentences: OTHERS } },
				options(),
			),
		shape: (o) =>
			Array.isArray(o) && o.length === OTHERS.length && o.every(isNumber)
				? null
				: `expected ${OTHERS.length} scores, one per sentence`,
	},
	"fill-mask": {
		call: () => client.fillMask({ ...target, inputs: "The goal of life is [MASK]." }, options()),
		shape: (o) => {
			if (!Array.isArray(o) || o.length === 0) return "expected a non-empty list of fillers";
			const ok = o.every((f) => isText(f?.sequence) && isNumber(f?.score) && isText(f?.token_str));
			return ok ? null : "every filler needs a sequence, a score and a token_str";
		},
	},
	"text-to-image": {
		call: () =>
			client.textToImage(
				{ ...target, inputs: "An astronaut riding a horse on the moon." },
				{ ...options(), outputType: "blob" },
			),
		shape: (o) =>
			o instanceof Blob && o.size > 0 && o.type.startsWith("image/") ? null : "expected an image Blob",
	},
	conversational: {
		call: () =>
			client.chatCompletion({ ...target, messages: [{ role: "user", content: "Say hello." }], max_tokens: MAX_TOKENS }, options()),
		shape: (o) => {
			const message = o?.choices?.[0]?.message;
			if (!message) return "choices is empty";
			return typeof message.content === "string" || message.tool_calls?.length
				? null
				: "the message has neither content nor tool calls";
		},
		stream: () =>
			pieces(
				client.chatCompletionStream(
					{ ...target, messages: [{ role: "user", content: "Say hello." }], max_tokens: MAX_TOKENS },
					options(),
				),
				(chunk) => chunk?.choices?.[0]?.delta?.content ?? "",
			),
	},
	"text-generation": {
		call: () =>
			client.textGeneration(
				{ ...target, inputs: "The capital of France is", parameters: { max_new_tokens: MAX_TOKENS } },
				options(),
			),
		shape: (o) => (typeof o?.generated_text === "string" ? null : "expected generated_text"),
		// The library's hf-inference helper streams from {endpointUrl}/v1/completions and hands
		// the chunks over unparsed: TGI's {token: {text}} or OpenAI's {choices: [{text}]}.
		stream: () =>
			pieces(
				client.textGenerationStream(
					{ ...target, inputs: "The capital of France is", parameters: { max_new_tokens: MAX_TOKENS } },
					options(),
				),
				(chunk) => chunk?.token?.text ?? chunk?.choices?.[0]?.text ?? "",
			),
	},
};

async function* pieces(chunks, textOf) {
	for await (const chunk of chunks) yield textOf(chunk);
}

async function timed(call) {
	lastId = null;
	const started = performance.now();
	const output = await call();
	return { output, seconds: (performance.now() - started) / 1000, id: lastId };
}

function idRow(probe, id, what) {
	if (id) row(probe, "pass");
	else row(probe, "fail", `${what} has no Inference-Id header`);
}

function within(probe, seconds, bound) {
	if (seconds === null) row(probe, "fail", "nothing was received to time");
	else if (seconds > bound) row(probe, "fail", `${seconds.toFixed(2)} s, over the ${bound} s bound`, seconds);
	else row(probe, "pass", null, seconds);
}

async function stream(task) {
	lastId = null;
	const started = performance.now();
	let first = null;
	let text = "";
	try {
		for await (const piece of task.stream()) {
			if (piece && first === null) first = (performance.now() - started) / 1000;
			text += piece;
		}
	} catch (error) {
		row("stream", "fail", reasonOf(error));
		for (const p of ["first_token", "inference_id_stream"]) row(p, "skip", "the stream failed");
		return;
	}
	row("stream", text ? "pass" : "fail", text ? null : "the stream carried no text");
	within("first_token", first, FIRST_TOKEN_BOUND_S);
	idRow("inference_id_stream", lastId, "the stream");
}

async function probe(task) {
	const rest = task.stream
		? ["shape", "inference_id", "stream", "first_token", "inference_id_stream"]
		: ["shape", "inference_id", "latency"];
	let first;
	try {
		first = await timed(task.call);
	} catch (error) {
		row("call", "fail", reasonOf(error));
		for (const p of rest) row(p, "skip", "the call failed");
		return;
	}
	row("call", "pass", null, first.seconds);
	const why = task.shape(first.output);
	row("shape", why === null ? "pass" : "fail", why);
	idRow("inference_id", first.id, "the answer");
	if (task.stream) {
		await stream(task);
		return;
	}
	// Timed on a second call: the first may have loaded the model.
	try {
		within("latency", (await timed(task.call)).seconds, ANSWER_BOUND_S);
	} catch (error) {
		row("latency", "fail", reasonOf(error));
	}
}

const task = TASKS[spec.task];
if (task === undefined) {
	row("call", "fail", `the @huggingface/inference probes have no method for task ${JSON.stringify(spec.task)}`);
} else {
	await probe(task);
}
