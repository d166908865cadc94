"""Unit tests for ghostwright.prompt with a fake one-token-per-character tokenizer."""

from __future__ import annotations

import pytest

from ghostwright.prompt import ContextChunk, FimTokens, build_prompt

BOS = 1
FIM = FimTokens(prefix=-10, suffix=-11, middle=-12, others=(-13,))


def tokenize(text: str) -> list[int]:
    return [ord(c) for c in text]


def detokenize(tokens) -> str:
    return "".join(chr(t) for t in tokens)


def build(prefix, suffix="", *, fim=None, bos=BOS, max_prefix=100, max_suffix=100):
    return build_prompt(
        prefix,
        suffix,
        tokenize=tokenize,
        fim=fim,
        bos=bos,
        max_prefix_tokens=max_prefix,
        max_suffix_tokens=max_suffix,
    )


def test_prefix_only_layout():
    prompt = build("def f():\n    ret", "urn\n", fim=None)
    assert prompt.mode == "prefix"
    assert prompt.tokens == (BOS, *tokenize("def f():\n    ret"))
    assert prompt.prefix_tokens == len("def f():\n    ret")
    assert prompt.suffix_tokens == 0
    # The suffix is not part of a prefix-only prompt.
    assert "urn" not in detokenize(prompt.tokens[1:])


def test_prefix_only_without_bos():
    prompt = build("ab", fim=None, bos=None)
    assert prompt.tokens == (ord("a"), ord("b"))
    assert prompt.heal_index == 1


def test_fim_layout():
    prompt = build("x = (", ")\ny = 2\n", fim=FIM)
    assert prompt.mode == "fim"
    assert prompt.tokens == (
        BOS,
        FIM.prefix,
        *tokenize("x = ("),
        FIM.suffix,
        *tokenize(")\ny = 2\n"),
        FIM.middle,
    )
    assert prompt.prefix_tokens == 5
    assert prompt.suffix_tokens == len(")\ny = 2\n")


def test_fim_layout_without_bos_and_with_empty_suffix():
    prompt = build("abc", "", fim=FIM, bos=None)
    assert prompt.tokens == (FIM.prefix, *tokenize("abc"), FIM.suffix, FIM.middle)
    assert prompt.suffix_tokens == 0


def test_fim_token_ids_include_the_others():
    assert FIM.all_ids == frozenset({-10, -11, -12, -13})


@pytest.mark.parametrize("fim", [None, FIM], ids=["prefix", "fim"])
def test_long_prefix_window_starts_at_a_line_boundary(fim):
    lines = [f"line {i:03d} = {i}\n" for i in range(200)]
    prefix = "".join(lines) + "cur"
    budget = 60
    prompt = build(prefix, "\n", fim=fim, max_prefix=budget)
    start = 2 if fim else 1  # after BOS (and <fim_pre>)
    kept = detokenize(prompt.tokens[start : start + prompt.prefix_tokens])
    assert prompt.prefix_tokens <= budget
    assert prefix.endswith(kept)
    # The window begins right after a line break of the full prefix, not mid-line.
    assert prefix[len(prefix) - len(kept) - 1] == "\n"
    # It is the longest run of whole lines that fits: the line before it would not fit.
    before = prefix[: len(prefix) - len(kept)]
    previous_line = before[:-1].rsplit("\n", 1)[-1] + "\n"
    assert len(kept) + len(previous_line) > budget
    assert kept.endswith("cur")


def test_prefix_window_is_stable_while_typing_on_the_current_line():
    body = "".join(f"row{i:02d}\n" for i in range(50))
    first = build(body + "a", fim=None, max_prefix=40)
    second = build(body + "ab", fim=None, max_prefix=40)
    # Same leading lines in both prompts: the window did not slide by one character.
    assert detokenize(second.tokens[1:]).startswith(detokenize(first.tokens[1:]))


def test_overlong_current_line_keeps_its_tail():
    prefix = "short\n" + "x" * 50 + "END"
    prompt = build(prefix, fim=None, max_prefix=20)
    assert prompt.prefix_tokens == 20
    assert detokenize(prompt.tokens[1:]) == prefix[-20:]


def test_short_prefix_is_kept_whole():
    prefix = "a\nb\nc"
    prompt = build(prefix, fim=None, max_prefix=16)
    assert detokenize(prompt.tokens[1:]) == prefix


def test_long_suffix_window_ends_at_a_line_boundary():
    suffix = ")\n" + "".join(f"after {i:03d}\n" for i in range(200))
    budget = 40
    prompt = build("call(", suffix, fim=FIM, max_suffix=budget)
    start = 2 + prompt.prefix_tokens + 1  # BOS, <fim_pre>, prefix, <fim_suf>
    kept = detokenize(prompt.tokens[start : start + prompt.suffix_tokens])
    assert prompt.tokens[start - 1] == FIM.suffix
    assert prompt.tokens[-1] == FIM.middle
    assert 0 < prompt.suffix_tokens <= budget
    assert suffix.startswith(kept)
    assert kept.endswith("\n")
    # The longest run of whole lines: adding the next line would exceed the budget.
    next_line = suffix[len(kept) :].split("\n", 1)[0] + "\n"
    assert len(kept) + len(next_line) > budget


def test_overlong_first_suffix_line_keeps_its_head():
    suffix = "y" * 100 + "\nnext\n"
    prompt = build("a", suffix, fim=FIM, max_suffix=30)
    assert prompt.suffix_tokens == 30
    start = 2 + 1 + 1
    assert detokenize(prompt.tokens[start : start + 30]) == "y" * 30


def test_zero_suffix_budget_gives_an_empty_suffix():
    prompt = build("a", "b\nc\n", fim=FIM, max_suffix=0)
    assert prompt.suffix_tokens == 0
    assert prompt.tokens == (BOS, FIM.prefix, ord("a"), FIM.suffix, FIM.middle)


@pytest.mark.parametrize("bos", [BOS, None])
def test_heal_index_prefix_mode(bos):
    prompt = build("foo.ba", fim=None, bos=bos)
    assert prompt.heal_index is not None
    assert prompt.tokens[prompt.heal_index] == ord("a")
    assert prompt.heal_index == len(prompt.tokens) - 1


@pytest.mark.parametrize("bos", [BOS, None])
def test_heal_index_fim_mode(bos):
    prompt = build("foo.ba", "r)\n", fim=FIM, bos=bos)
    assert prompt.heal_index is not None
    assert prompt.tokens[prompt.heal_index] == ord("a")
    assert prompt.tokens[prompt.heal_index + 1] == FIM.suffix


@pytest.mark.parametrize("fim", [None, FIM], ids=["prefix", "fim"])
def test_heal_index_is_none_for_an_empty_prefix(fim):
    prompt = build("", "x\n", fim=fim)
    assert prompt.heal_index is None
    assert prompt.prefix_tokens == 0


# --- the repository-level layout (Qwen2.5-Coder's <|repo_name|>, <|file_sep|>) -----------------

REPO_FIM = FimTokens(
    prefix=-10, suffix=-11, middle=-12, others=(-13,), repo=-20, file_separator=-21
)
OTHER = ContextChunk("util.py, definitions", "def helper(a):", file="util.py")
OWN = ContextChunk("imports", "import os")


def build_with(fim, context, budget=200):
    return build_prompt(
        "x = (",
        ")\n",
        tokenize=tokenize,
        fim=fim,
        bos=None,
        max_prefix_tokens=100,
        max_suffix_tokens=100,
        context=context,
        max_context_tokens=budget,
        file_name="main.py",
    )


def test_other_files_come_first_as_files_of_the_repository():
    prompt = build_with(REPO_FIM, [OTHER, OWN])
    assert prompt.tokens == (
        -20,
        *tokenize("project\n"),
        -21,
        *tokenize("util.py\ndef helper(a):\n"),
        -21,
        *tokenize("main.py\n"),
        -10,
        *tokenize("# imports\nimport os\n# ---\n"),
        *tokenize("x = ("),
        -11,
        *tokenize(")\n"),
        -12,
    )
    assert detokenize(prompt.tokens[prompt.heal_index :][:1]) == "("
    fim_tokens, prefix, suffix = 3, len("x = ("), len(")\n")
    assert prompt.context_tokens == len(prompt.tokens) - fim_tokens - prefix - suffix


def test_without_other_files_the_prompt_is_plain_fim():
    assert build_with(REPO_FIM, [OWN]).tokens == build_with(FIM, [OWN]).tokens


def test_a_model_without_the_repository_tokens_gets_commented_sections():
    prompt = build_with(FIM, [OTHER])
    assert -20 not in prompt.tokens and -21 not in prompt.tokens
    assert "# util.py, definitions\ndef helper(a):\n" in detokenize(
        t for t in prompt.tokens if t > 0
    )


def test_other_files_beyond_the_context_budget_are_left_out():
    prompt = build_with(REPO_FIM, [OTHER, OTHER], budget=len("util.py\ndef helper(a):\n") + 1)
    assert prompt.tokens.count(-21) == 2  # one other file, then this file


def test_a_fim_prompt_does_not_heal_bare_indentation():
    """At the start of a line's code the indentation is whole; a FIM model healing it writes
    whitespace on and on (Qwen2.5-Coder-0.5B: 128 spaces)."""
    fim = build("def f(x):\n    y = x\n    ", "\n    return y\n", fim=FIM)
    plain = build("def f(x):\n    y = x\n    ", "\n    return y\n", fim=None)
    assert fim.heal_index is None and plain.heal_index is not None
    assert fim.tokens[fim.prefix_end - 1] == ord(" ") and fim.tokens[fim.prefix_end] == FIM.suffix
    partial = build("def f(x):\n    y = x\n    ret", "\n", fim=FIM)
    assert partial.heal_index == partial.prefix_end - 1  # a partial word is still healed
