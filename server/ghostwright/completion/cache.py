"""Recent suggestions, and typing-through: answering from them without the model.

Keyed by the tail of the text before the cursor and the head of the text after it (llama.vim).
When the person types the first characters of a suggestion they were shown, the new cursor's
prefix is the old prefix plus those characters: looking back up to `LOOKBACK_CHARS` typed
characters finds the entry, and the rest of its text is the answer, at once.

Every request looks up, and most miss: the lookback tries 129 places the entry could start.
Hashing 2 KiB of prefix at each would cost most of a millisecond; an index of the entries by
the last `ANCHOR_CHARS` characters before their cursor (and the suffix head) rules out almost
every place with a dictionary lookup, and only a place that passes is hashed.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from ghostwright.completion.pipeline import Suggestion

PREFIX_KEY_CHARS = 2048
SUFFIX_KEY_CHARS = 256
LOOKBACK_CHARS = 128
ANCHOR_CHARS = 32

_Anchor = tuple[str, str]
"""The last `ANCHOR_CHARS` characters of a prefix and the first `SUFFIX_KEY_CHARS` of its
suffix: equal for equal keys, so a place whose anchor no entry has cannot hold one."""


def cache_key(prefix: str, suffix: str) -> str:
    material = prefix[-PREFIX_KEY_CHARS:] + "\x00" + suffix[:SUFFIX_KEY_CHARS]
    return hashlib.blake2b(material.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class SuggestionCache:
    """An LRU of suggestions by cursor context."""

    def __init__(self, capacity: int = 250) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[str, tuple[Suggestion, _Anchor]] = OrderedDict()
        self._keys_by_anchor: dict[_Anchor, set[str]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def store(self, prefix: str, suffix: str, suggestion: Suggestion) -> None:
        key = cache_key(prefix, suffix)
        anchor = (prefix[-ANCHOR_CHARS:], suffix[:SUFFIX_KEY_CHARS])
        self._entries[key] = (suggestion, anchor)
        self._entries.move_to_end(key)
        self._keys_by_anchor.setdefault(anchor, set()).add(key)
        while len(self._entries) > self._capacity:
            old_key, (_, old_anchor) = self._entries.popitem(last=False)
            keys = self._keys_by_anchor[old_anchor]
            keys.discard(old_key)
            if not keys:
                del self._keys_by_anchor[old_anchor]

    def lookup(self, prefix: str, suffix: str) -> tuple[Suggestion, str] | None:
        """A cached suggestion for this cursor and the characters typed into it since.

        Returns (suggestion, typed); the text to show is `suggestion.text[len(typed):]`, which is
        never empty. None on a miss.
        """
        if not self._entries:
            return None
        head = suffix[:SUFFIX_KEY_CHARS]
        # Only the tail matters for the key; never copy the whole prefix per step.
        tail = prefix[-(PREFIX_KEY_CHARS + LOOKBACK_CHARS) :]
        for typed_length in range(min(LOOKBACK_CHARS, len(tail)) + 1):
            end = len(tail) - typed_length
            keys = self._keys_by_anchor.get((tail[max(0, end - ANCHOR_CHARS) : end], head))
            if not keys:
                continue
            base, typed = tail[:end], tail[end:]
            key = cache_key(base, suffix)
            if key not in keys:
                continue
            entry, _ = self._entries[key]
            if entry.text.startswith(typed) and len(entry.text) > len(typed):
                self._entries.move_to_end(key)
                return entry, typed
        return None

    def clear(self) -> None:
        self._entries.clear()
        self._keys_by_anchor.clear()
