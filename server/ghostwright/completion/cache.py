"""Recent suggestions, and typing-through: answering from them without the model.

Keyed by the tail of the text before the cursor and the head of the text after it (llama.vim).
When the person types the first characters of a suggestion they were shown, the new cursor's
prefix is the old prefix plus those characters: looking back up to `LOOKBACK_CHARS` typed
characters finds the entry, and the rest of its text is the answer, at once.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from ghostwright.completion.pipeline import Suggestion

PREFIX_KEY_CHARS = 2048
SUFFIX_KEY_CHARS = 256
LOOKBACK_CHARS = 128


def cache_key(prefix: str, suffix: str) -> str:
    material = prefix[-PREFIX_KEY_CHARS:] + "\x00" + suffix[:SUFFIX_KEY_CHARS]
    return hashlib.blake2b(material.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class SuggestionCache:
    """An LRU of suggestions by cursor context."""

    def __init__(self, capacity: int = 250) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[str, Suggestion] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def store(self, prefix: str, suffix: str, suggestion: Suggestion) -> None:
        key = cache_key(prefix, suffix)
        self._entries[key] = suggestion
        self._entries.move_to_end(key)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def lookup(self, prefix: str, suffix: str) -> tuple[Suggestion, str] | None:
        """A cached suggestion for this cursor and the characters typed into it since.

        Returns (suggestion, typed); the text to show is `suggestion.text[len(typed):]`, which is
        never empty. None on a miss.
        """
        # Only the tail matters for the key; never copy the whole prefix per step.
        tail = prefix[-(PREFIX_KEY_CHARS + LOOKBACK_CHARS) :]
        for typed_length in range(min(LOOKBACK_CHARS, len(tail)) + 1):
            base = tail[: len(tail) - typed_length]
            typed = tail[len(base) :]
            key = cache_key(base, suffix)
            entry = self._entries.get(key)
            if entry is not None and entry.text.startswith(typed) and len(entry.text) > len(typed):
                self._entries.move_to_end(key)
                return entry, typed
        return None

    def clear(self) -> None:
        self._entries.clear()
