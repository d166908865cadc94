"""Unit tests for the suggestion cache: exact hits, typing-through, keys and eviction."""

from __future__ import annotations

from collections import OrderedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ghostwright.completion.cache import (
    ANCHOR_CHARS,
    LOOKBACK_CHARS,
    PREFIX_KEY_CHARS,
    SUFFIX_KEY_CHARS,
    SuggestionCache,
    cache_key,
)
from ghostwright.completion.pipeline import Suggestion

PREFIX = "def area(r):\n    return "
SUFFIX = "\n\nprint(area(2))\n"
TEXT = "3.14159 * r * r"


def suggestion(text: str = TEXT, id: str = "s1") -> Suggestion:
    return Suggestion(
        id=id,
        text=text,
        confidence=0.9,
        mode="fim",
        source="model",
        prompt_tokens=40,
        reused_tokens=10,
        evaluated_tokens=30,
        model_ms=12.0,
        total_ms=15.0,
        stop_reason="stop",
    )


def filled(text: str = TEXT) -> tuple[SuggestionCache, Suggestion]:
    cache = SuggestionCache()
    entry = suggestion(text)
    cache.store(PREFIX, SUFFIX, entry)
    return cache, entry


def test_exact_hit_has_nothing_typed() -> None:
    cache, entry = filled()
    assert cache.lookup(PREFIX, SUFFIX) == (entry, "")
    assert len(cache) == 1


def test_miss_on_an_empty_cache() -> None:
    assert SuggestionCache().lookup(PREFIX, SUFFIX) is None


@pytest.mark.parametrize("k", range(1, len(TEXT)))
def test_typing_through_returns_the_entry_and_the_typed_text(k: int) -> None:
    cache, entry = filled()
    hit = cache.lookup(PREFIX + TEXT[:k], SUFFIX)
    assert hit is not None
    found, typed = hit
    assert found is entry
    assert typed == TEXT[:k]
    assert found.text[len(typed) :] == TEXT[k:]


@pytest.mark.parametrize("typed", ["4", "3.2", "3.14159 * x", "3.14159 * r * r2"])
def test_no_hit_when_the_typed_text_diverges(typed: str) -> None:
    cache, _ = filled()
    assert cache.lookup(PREFIX + typed, SUFFIX) is None


def test_no_hit_when_the_whole_suggestion_was_typed() -> None:
    cache, _ = filled()
    assert cache.lookup(PREFIX + TEXT, SUFFIX) is None


def test_no_hit_after_deleting_before_the_cursor() -> None:
    cache, _ = filled()
    assert cache.lookup(PREFIX[:-1], SUFFIX) is None


def test_typing_through_moves_the_entry_to_the_newest_end() -> None:
    cache = SuggestionCache(capacity=2)
    first, second = suggestion("alpha()", "a"), suggestion("beta()", "b")
    cache.store("x = ", SUFFIX, first)
    cache.store("y = ", SUFFIX, second)
    hit = cache.lookup("x = al", SUFFIX)
    assert hit is not None and hit[0] is first
    cache.store("z = ", SUFFIX, suggestion("gamma()", "c"))
    assert cache.lookup("y = ", SUFFIX) is None
    assert cache.lookup("x = ", SUFFIX) == (first, "")


def test_lru_eviction_at_capacity() -> None:
    cache = SuggestionCache(capacity=3)
    entries = {name: suggestion(f"{name}_value()", name) for name in ("a", "b", "c", "d")}
    for name in ("a", "b", "c"):
        cache.store(f"{name} = ", SUFFIX, entries[name])
    assert len(cache) == 3
    assert cache.lookup("a = ", SUFFIX) == (entries["a"], "")  # "a" is now the newest
    cache.store("d = ", SUFFIX, entries["d"])
    assert len(cache) == 3
    assert cache.lookup("b = ", SUFFIX) is None  # the least recently used went
    for name in ("a", "c", "d"):
        assert cache.lookup(f"{name} = ", SUFFIX) == (entries[name], "")


def test_storing_the_same_key_again_replaces_the_entry() -> None:
    cache = SuggestionCache(capacity=2)
    old, new = suggestion("old()", "1"), suggestion("new()", "2")
    cache.store(PREFIX, SUFFIX, old)
    cache.store(PREFIX, SUFFIX, new)
    assert len(cache) == 1
    assert cache.lookup(PREFIX, SUFFIX) == (new, "")


def test_key_depends_on_the_suffix_head() -> None:
    cache, _ = filled()
    assert cache.lookup(PREFIX, "\n\nprint(area(3))\n") is None
    assert cache.lookup(PREFIX + TEXT[:3], "\n\nprint(area(3))\n") is None
    assert cache_key(PREFIX, SUFFIX) != cache_key(PREFIX, "x" + SUFFIX)


def test_suffix_beyond_the_key_head_does_not_matter() -> None:
    cache = SuggestionCache()
    entry = suggestion()
    head = "\n" + "y" * (SUFFIX_KEY_CHARS - 1)
    cache.store(PREFIX, head + "\nfirst tail\n", entry)
    assert cache.lookup(PREFIX, head + "\nanother tail entirely\n") == (entry, "")
    assert cache.lookup(PREFIX + TEXT[:5], head + "!") == (entry, TEXT[:5])


def test_typing_through_up_to_the_lookback_limit() -> None:
    long_text = "".join(chr(ord("a") + i % 26) for i in range(LOOKBACK_CHARS + 20))
    cache, entry = filled(long_text)
    at_limit = cache.lookup(PREFIX + long_text[:LOOKBACK_CHARS], SUFFIX)
    assert at_limit == (entry, long_text[:LOOKBACK_CHARS])
    assert cache.lookup(PREFIX + long_text[: LOOKBACK_CHARS + 1], SUFFIX) is None


def test_lookup_ignores_text_beyond_the_prefix_key_window() -> None:
    window = ("    total += values[i]\n" * 200)[-PREFIX_KEY_CHARS:] + "    return "
    stored_prefix = "# file A\n" * 500 + window
    cache = SuggestionCache()
    entry = suggestion()
    cache.store(stored_prefix, SUFFIX, entry)
    other_far_text = "// something else\n" * 700 + window
    assert cache.lookup(other_far_text, SUFFIX) == (entry, "")
    assert cache.lookup(other_far_text + TEXT[:6], SUFFIX) == (entry, TEXT[:6])
    assert cache.lookup(other_far_text[:-1], SUFFIX) is None


def test_long_prefix_typing_through_at_the_lookback_limit() -> None:
    long_text = "x" * (LOOKBACK_CHARS + 1)
    prefix = "y = 1\n" * 1000 + "value = "
    assert len(prefix) > PREFIX_KEY_CHARS + LOOKBACK_CHARS
    cache = SuggestionCache()
    entry = suggestion(long_text)
    cache.store(prefix, SUFFIX, entry)
    assert cache.lookup(prefix + "x" * LOOKBACK_CHARS, SUFFIX) == (entry, "x" * LOOKBACK_CHARS)


def test_prefix_key_window_distinguishes_its_own_text() -> None:
    cache = SuggestionCache()
    cache.store("a" * PREFIX_KEY_CHARS, SUFFIX, suggestion())
    changed = "b" + "a" * (PREFIX_KEY_CHARS - 1)
    assert cache.lookup(changed, SUFFIX) is None
    assert cache.lookup("b" + "a" * PREFIX_KEY_CHARS, SUFFIX) is not None


def test_clear_empties_the_cache() -> None:
    cache, _ = filled()
    cache.store("other = ", SUFFIX, suggestion("1", "2"))
    assert len(cache) == 2
    cache.clear()
    assert len(cache) == 0
    assert cache.lookup(PREFIX, SUFFIX) is None
    assert cache.lookup(PREFIX + TEXT[:2], SUFFIX) is None


class ReferenceCache:
    """The lookup by definition: the key of every place the entry could start, hashed."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.entries: OrderedDict[str, Suggestion] = OrderedDict()

    def store(self, prefix: str, suffix: str, entry: Suggestion) -> None:
        key = cache_key(prefix, suffix)
        self.entries[key] = entry
        self.entries.move_to_end(key)
        while len(self.entries) > self.capacity:
            self.entries.popitem(last=False)

    def lookup(self, prefix: str, suffix: str) -> tuple[Suggestion, str] | None:
        for typed_length in range(min(LOOKBACK_CHARS, len(prefix)) + 1):
            base, typed = prefix[: len(prefix) - typed_length], prefix[len(prefix) - typed_length :]
            entry = self.entries.get(cache_key(base, suffix))
            if entry is not None and entry.text.startswith(typed) and len(entry.text) > len(typed):
                self.entries.move_to_end(cache_key(base, suffix))
                return entry, typed
        return None


_texts = st.text(alphabet="ab\n", max_size=ANCHOR_CHARS + 12)
_operations = st.lists(
    st.tuples(
        st.sampled_from(["store", "type through", "elsewhere"]),
        _texts,
        _texts,
        st.sampled_from(["", "\n", "x\n"]),
        st.integers(0, 50),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(_operations, st.booleans())
def test_lookups_agree_with_hashing_every_place(
    operations: list[tuple[str, str, str, str, int]], long: bool
) -> None:
    """The anchor index only skips places that cannot match: every answer (entry, typed text)
    and every eviction is what hashing all places gives, on short prefixes (shorter than an
    anchor) and texts of few letters, where anchors and keys collide often."""
    cache, reference = SuggestionCache(capacity=3), ReferenceCache(capacity=3)
    # Prefixes shorter than an anchor, or longer than the key window and its lookback.
    start = "#" * (PREFIX_KEY_CHARS + LOOKBACK_CHARS + 5) if long else ""
    stored: list[tuple[str, str, str]] = [(start, "", "")]
    for number, (action, before, text, suffix, pick) in enumerate(operations):
        base, base_suffix, base_text = stored[pick % len(stored)]
        if action == "store" and text:
            prefix = base + before
            entry = suggestion(text, id=str(number))
            cache.store(prefix, suffix, entry)
            reference.store(prefix, suffix, entry)
            stored.append((prefix, suffix, text))
            continue
        if action == "type through":  # some of a stored suggestion typed, maybe more after
            base, base_suffix, base_text = stored[-1 - pick % len(stored)]
            after = before if pick % 3 == 0 else ""
            prefix, suffix = base + base_text[: pick % (len(base_text) + 1)] + after, base_suffix
        else:
            prefix = base + before + text
        found = cache.lookup(prefix, suffix)
        assert found == reference.lookup(prefix, suffix)
        assert len(cache) == len(reference.entries)
