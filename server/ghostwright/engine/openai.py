"""OpenAI-compatible `/v1/completions` (`backend = "openai"`): vLLM, llama-cpp-python's server,
LM Studio, llama.cpp server's compatibility endpoint, and others.

The API knows no fill-in-the-middle, so the prompt is the text of the model family's FIM
template (`models/fim.toml`, matched by the model's name), or the text before the cursor for a
model matching no family; the family's stop texts end a suggestion. Token log-probabilities are
asked for (`logprobs: 1`); a server that refuses them is asked again without, and the predictor
then sees the confidence features as missing. The answer streams as server-sent events
`data: {"choices": [{"text", "logprobs": {"token_logprobs"}, "finish_reason"}]}` up to
`data: [DONE]`, with the prompt's token count in `usage` where the server adds it
(`stream_options.include_usage`).
"""

from __future__ import annotations

import json
from typing import Any

from ghostwright.engine.fim import FimFamily, fim_families
from ghostwright.engine.http import SAMPLED_TEMPERATURE, BackendError, Chunk, HttpBackend
from ghostwright.prompt import TextPrompt

_FINISH = {"stop": "eos", "length": "max_tokens"}


def family_for(model: str, families: list[FimFamily] | None = None) -> FimFamily | None:
    """The FIM family whose name patterns the model's name contains, if any."""
    name = model.lower()
    for family in families if families is not None else fim_families():
        if any(pattern in name for pattern in family.match):
            return family
    return None


def fim_text(prompt: TextPrompt, family: FimFamily | None) -> str:
    """The prompt as text in the family's FIM layout (the token layout of `build_prompt`, as
    text), or context and prefix alone without a family."""
    before = prompt.context_text + prompt.prefix
    if family is None:
        return before
    if family.order == "spm":
        return f"{family.suffix}{prompt.suffix}{family.prefix}{before}"
    return f"{family.prefix}{before}{family.suffix}{prompt.suffix}{family.middle or ''}"


class OpenAICompatible(HttpBackend):
    kind = "openai"
    family: FimFamily | None = None
    """The FIM format of the served model, known once its name is."""
    _logprobs = True
    _usage = True

    @staticmethod
    def base_url(url: str) -> str:
        return url.removesuffix("/v1")

    @property
    def mode(self) -> str:
        return "prefix" if self.family is None else "fim"

    def resolve_model(self) -> None:
        try:
            listed = self.get_json("/v1/models")
        except BackendError:
            if self.model is None:
                raise
            listed = {}  # a server without a model list: trust the configured name
        names = [
            str(entry.get("id"))
            for entry in (listed.get("data") or [] if isinstance(listed, dict) else [])
            if isinstance(entry, dict) and entry.get("id")
        ]
        if self.model is None:
            if not names:
                raise BackendError(
                    f"The openai server at {self.url} lists no models: set backendModel."
                )
            self.model = names[0]
        elif names and self.model not in names:
            raise BackendError(
                f"The openai server at {self.url} does not serve model {self.model!r} (it "
                f"serves: {', '.join(names)}). Set backendModel to one of them."
            )
        self.family = family_for(self.model)

    def request(
        self, prompt: TextPrompt, max_tokens: int, time_budget_ms: float | None, branch: int
    ) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {
            "prompt": fim_text(prompt, self.family),
            "max_tokens": max_tokens,
            "temperature": 0.0 if branch == 0 else SAMPLED_TEMPERATURE,
            "stream": True,
        }
        if self.model:
            body["model"] = self.model
        if branch:
            body["seed"] = branch
        if self._logprobs:
            body["logprobs"] = 1
        if self._usage:
            body["stream_options"] = {"include_usage": True}
        if self.family is not None and self.family.stop:
            body["stop"] = list(self.family.stop)[:4]  # the API takes at most four
        return "/v1/completions", body

    def retry_without(self, status: int, message: str) -> bool:
        lowered = message.lower()
        if self._logprobs and "logprob" in lowered:
            self._logprobs = False
            return True
        if self._usage and ("stream_options" in lowered or "include_usage" in lowered):
            self._usage = False
            return True
        return False

    def parse(self, line: str) -> Chunk | None:
        if not line.startswith("data:"):
            return None
        payload = line[len("data:") :].strip()
        if payload == "[DONE]":
            return Chunk(finished=True)
        data = json.loads(payload)
        if "error" in data:
            return Chunk(error=str(data["error"]))
        usage = data.get("usage") or {}
        prompt_tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
        choices = data.get("choices") or []
        if not choices:
            return Chunk(prompt_tokens=prompt_tokens if isinstance(prompt_tokens, int) else None)
        choice = choices[0]
        scored = (choice.get("logprobs") or {}).get("token_logprobs") or []
        logprobs = tuple(float(v) for v in scored if isinstance(v, int | float))
        finish = choice.get("finish_reason")
        return Chunk(
            text=str(choice.get("text") or ""),
            logprobs=logprobs if len(logprobs) == len(scored) else (),
            stop_reason=_FINISH.get(str(finish), "eos") if finish else None,
            prompt_tokens=prompt_tokens if isinstance(prompt_tokens, int) else None,
        )
