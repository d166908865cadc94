"""The FIM prompt path, run for real on a copy of the default model that declares FIM tokens."""

from __future__ import annotations

import threading
from pathlib import Path

from ghostwright.completion.pipeline import CompletionPipeline, CompletionRequest
from ghostwright.engine.fim import family_fim, fim_families
from ghostwright.engine.gguf import read_gguf
from ghostwright.engine.local import LocalEngine, read_fim_tokens
from ghostwright.prompt import build_prompt
from ghostwright.settings import Settings


def test_vocabulary_fim_tokens_are_detected(fim_model_path: Path, default_model_path: Path) -> None:
    fim = read_fim_tokens(fim_model_path)
    assert fim is not None
    assert (fim.prefix, fim.suffix, fim.middle) == (7, 8, 9)
    assert fim.source == "vocabulary"
    assert (fim.repo, fim.file_separator) == (3, 5) and fim.sees_repository
    assert read_fim_tokens(default_model_path) is None  # the shipped model is prefix-only


def test_fim_prompt_layout_and_generation_mechanics(fim_model_path: Path) -> None:
    engine = LocalEngine(fim_model_path, Settings(context_size=1024))
    try:
        assert engine.fim is not None
        prefix, suffix = "def area(radius):\n    return ", "\n\nprint(area(2))\n"
        prompt = build_prompt(
            prefix,
            suffix,
            tokenize=engine.tokenize,
            fim=engine.fim,
            bos=engine.prompt_bos(),
            max_prefix_tokens=256,
            max_suffix_tokens=64,
        )
        tokens = list(prompt.tokens)
        assert prompt.mode == "fim"
        assert tokens[0] == 7 and tokens[-1] == 9
        assert tokens.count(8) == 1
        split = tokens.index(8)
        assert tokens[1:split] == engine.tokenize(prefix)
        assert tokens[split + 1 : -1] == engine.tokenize(suffix)
        assert prompt.heal_index == split - 1
        generation = engine.generate(
            tokens,
            heal_index=prompt.heal_index,
            max_tokens=16,
            should_stop=lambda text: False,
            cancelled=threading.Event(),
        )
        assert generation.prompt_tokens == len(tokens) - 1  # the healed token is regenerated
        assert generation.stop_reason in ("eos", "max_tokens")
        assert len(generation.token_logprobs) <= 16
        # The second run of the same prompt reuses the KV cache.
        again = engine.generate(
            tokens,
            heal_index=prompt.heal_index,
            max_tokens=4,
            should_stop=lambda text: False,
            cancelled=threading.Event(),
        )
        assert again.reused_tokens == len(tokens) - 2
        # Through the pipeline, the request is planned and prompted in FIM mode.
        text = prefix + suffix
        request = CompletionRequest("file:///a.py", 1, "python", text, len(prefix))
        pipeline = CompletionPipeline(Settings(max_tokens=8))
        found = pipeline.candidates(engine, request, threading.Event(), count=1)
        assert all(suggestion.mode == "fim" for suggestion in found)
    finally:
        engine.close()


def test_family_registry_finds_tokens_by_name(default_model_path: Path) -> None:
    """A family matched by model name whose token texts are looked up in the real vocabulary."""
    import llama_cpp

    from ghostwright.engine.local import _single_token

    families = fim_families(
        """
[[fim]]
family = "test-family"
match = ["smollm2"]
prefix = "<gh_stars>"
suffix = "<issue_start>"
middle = "<issue_comment>"
file_separator = "<file_sep>"
stop = ["<|im_end|>"]

[[fim]]
family = "absent-tokens"
match = ["smollm2"]
prefix = "<|no_such_token|>"
suffix = "<issue_start>"
"""
    )
    info = read_gguf(default_model_path, check_tensors=False)
    llama = llama_cpp.Llama(model_path=str(default_model_path), vocab_only=True, verbose=False)
    try:
        fim = family_fim(info, lambda text: _single_token(llama, text), families)
        assert fim is not None
        assert (fim.prefix, fim.suffix, fim.middle) == (7, 8, 9)
        assert fim.source == "test-family"
        assert set(fim.others) == {5, 2}
        # The family without its tokens in the vocabulary is skipped.
        assert family_fim(info, lambda text: _single_token(llama, text), families[1:]) is None
    finally:
        llama.close()


def test_shipped_fim_registry_is_well_formed() -> None:
    families = {family.family: family for family in fim_families()}
    expected = {
        "qwen2.5-coder",
        "starcoder2",
        "codellama",
        "deepseek-coder",
        "codestral",
        "codegemma",
    }
    assert expected <= set(families)
    assert families["codestral"].order == "spm" and families["codestral"].middle is None
    assert all(family.match and family.prefix and family.suffix for family in families.values())
