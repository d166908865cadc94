"""Unit tests for ghostwright.prompt with a fake one-token-per-character tokenizer."""

from __future__ import annotations

import pytest

from ghostwright.prompt import FimTokens, build_prompt

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
