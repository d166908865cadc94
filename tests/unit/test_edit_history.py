"""Unit tests for ghostwright.edits.history: didChange edits coalesced into hunks.

Edits come from a real `Documents` (the offsets and deleted text the server records), typed at
times the test chooses.
"""

from __future__ import annotations

from lsprotocol import types

from ghostwright.documents import Documents, Edit
from ghostwright.edits.history import (
    COALESCE_S,
    MAX_HUNK_CHARS,
    MAX_HUNKS,
    EditHistory,
    Hunk,
)

URI = "file:///tmp/area.py"
OTHER = "file:///tmp/other.py"


class Typist:
    """A person editing one open document: each keystroke is one didChange, `step` seconds
    after the one before, recorded into an `EditHistory`."""

    def __init__(self, text: str, step: float = 0.1) -> None:
        self.documents = Documents()
        self.document = self.documents.open(
            types.TextDocumentItem(uri=URI, language_id="python", version=1, text=text)
        )
        self.history = EditHistory()
        self.now = 0.0
        self.step = step

    @property
    def text(self) -> str:
        return self.document.text

    def replace(self, start: int, end: int, inserted: str, *, after: float | None = None) -> None:
        self.now += self.step if after is None else after
        document = self.document
        change = types.TextDocumentContentChangePartial(
            range=types.Range(start=document.position_at(start), end=document.position_at(end)),
            text=inserted,
        )
        _, edits = self.documents.change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=URI, version=document.version + 1
                ),
                content_changes=[change],
            )
        )
        self.history.record(URI, edits, self.now)

    def type(self, offset: int, text: str) -> None:
        for index, char in enumerate(text):
            self.replace(offset + index, offset + index, char)

    def backspace(self, offset: int, times: int) -> None:
        """Backspace `times` characters from `offset` (the cursor) leftwards."""
        for index in range(times):
            self.replace(offset - index - 1, offset - index, "")

    @property
    def hunks(self) -> list[Hunk]:
        return self.history.hunks(URI)


def test_a_rename_typed_letter_by_letter_is_one_hunk_from_old_to_new() -> None:
    person = Typist("def area(result):\n    return result * 2\n")
    start = person.text.index("result")
    person.backspace(start + len("result"), len("result"))
    person.type(start, "total")
    assert person.text == "def area(total):\n    return result * 2\n"
    assert person.hunks == [Hunk(9, "result", "total", person.now)]
    assert person.hunks[0].end == 14
    assert person.text[9:14] == "total"
    assert person.history.changed_at(URI) == person.now


def test_selecting_and_typing_over_a_name_is_one_hunk() -> None:
    person = Typist("x = value + 1\n")
    person.replace(4, 9, "a")
    person.type(5, "mount")
    assert person.hunks == [Hunk(4, "value", "amount", person.now)]


def test_an_edit_elsewhere_starts_a_new_hunk_and_shifts_the_hunks_after_it() -> None:
    person = Typist("def area(result):\n    return result * 2\n")
    person.replace(9, 15, "total")
    renamed_at = person.now
    person.type(0, "import math\n")
    assert person.text.startswith("import math\ndef area(total):")
    assert person.hunks == [
        Hunk(21, "result", "total", renamed_at),
        Hunk(0, "", "import math\n", person.now),
    ]
    assert person.text[21:26] == "total"


def test_an_edit_after_a_hunk_leaves_its_offsets_alone() -> None:
    person = Typist("a = 1\nb = 2\n")
    person.replace(0, 1, "alpha")
    renamed_at = person.now
    person.type(len(person.text), "c = 3\n")
    assert person.hunks == [
        Hunk(0, "a", "alpha", renamed_at),
        Hunk(16, "", "c = 3\n", person.now),
    ]


def test_an_edit_after_the_coalescing_window_starts_a_new_hunk() -> None:
    person = Typist("total = 1\n")
    person.type(5, "s")
    first = person.now
    person.replace(6, 6, "2", after=COALESCE_S + 1.0)
    assert person.text == "totals2 = 1\n"
    assert person.hunks == [Hunk(5, "", "s", first), Hunk(6, "", "2", person.now)]


def test_an_edit_within_the_coalescing_window_joins_the_hunk() -> None:
    person = Typist("total = 1\n")
    person.type(5, "s")
    person.replace(6, 6, "2", after=COALESCE_S - 0.5)
    assert person.hunks == [Hunk(5, "", "s2", person.now)]


def test_typing_back_the_original_text_removes_the_hunk() -> None:
    person = Typist("count = 1\n")
    person.type(5, "er")
    assert person.hunks == [Hunk(5, "", "er", person.now)]
    person.backspace(7, 2)
    assert person.text == "count = 1\n"
    assert person.hunks == []
    assert person.history.changed_at(URI) == person.now


def test_an_undo_that_restores_the_original_in_one_edit_removes_the_hunk() -> None:
    person = Typist("def area(result):\n    return result\n")
    person.replace(9, 15, "total")
    person.replace(9, 14, "result")
    assert person.text == "def area(result):\n    return result\n"
    assert person.hunks == []


def test_backspacing_past_the_start_of_a_hunk_extends_what_it_replaced() -> None:
    person = Typist("x = value + 1\n")
    person.replace(4, 9, "amount")
    person.backspace(10, 6)
    assert person.hunks == [Hunk(4, "value", "", person.now)]
    person.backspace(4, 2)
    assert person.text == "x  + 1\n"
    assert person.hunks == [Hunk(2, "= value", "", person.now)]


def test_deleting_past_the_end_of_a_hunk_extends_what_it_replaced() -> None:
    person = Typist("x = value + 1\n")
    person.replace(4, 9, "amount")
    person.replace(8, 12, "")
    assert person.text == "x = amou 1\n"
    assert person.hunks == [Hunk(4, "value +", "amou", person.now)]


def test_an_edit_overwriting_an_older_hunk_and_more_keeps_one_hunk_for_both() -> None:
    person = Typist("a = b + c\n")
    person.replace(4, 5, "beta")
    person.replace(2, 12, "= 0", after=0.5)
    assert person.text == "a = 0\n"
    assert person.hunks == [Hunk(2, "= b + c", "= 0", person.now)]


def test_one_did_change_with_several_edits_applies_them_in_order() -> None:
    history = EditHistory()
    # "a b" -> "xa b" -> "xa by": each edit in the text left by the one before it.
    history.record(URI, [Edit(0, 0, "x", ""), Edit(4, 0, "y", "")], 1.0)
    assert history.hunks(URI) == [Hunk(0, "", "x", 1.0), Hunk(4, "", "y", 1.0)]


def test_at_most_max_hunks_are_kept_the_oldest_going_first() -> None:
    history = EditHistory()
    edits = MAX_HUNKS + 4
    for index in range(edits):
        history.record(URI, [Edit(index * 10, 0, "z", "")], index * 10.0)
    hunks = history.hunks(URI)
    assert len(hunks) == MAX_HUNKS
    assert hunks[0] == Hunk(40, "", "z", 40.0)
    assert hunks[-1] == Hunk((edits - 1) * 10, "", "z", (edits - 1) * 10.0)


def test_a_huge_edit_clears_the_history() -> None:
    history = EditHistory()
    history.record(URI, [Edit(0, 0, "a", "")], 1.0)
    history.record(URI, [Edit(10, 0, "b", "")], 10.0)
    pasted = "x = 1\n" * (MAX_HUNK_CHARS // 6 + 1)
    history.record(URI, [Edit(0, 0, pasted, "")], 20.0)
    assert history.hunks(URI) == []
    assert history.changed_at(URI) == 20.0
    history.record(URI, [Edit(3, 0, "c", "")], 30.0)
    assert history.hunks(URI) == [Hunk(3, "", "c", 30.0)]


def test_a_whole_document_replace_of_a_long_file_clears_the_history() -> None:
    text = "value = 1\n" * (MAX_HUNK_CHARS // 10)
    person = Typist(text)
    person.type(0, "# ")
    documents, document = person.documents, person.document
    _, edits = documents.change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=99),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    assert edits[0].removed + len(edits[0].inserted) > MAX_HUNK_CHARS
    person.history.record(URI, edits, 50.0)
    assert document.text == text
    assert person.hunks == []


def test_forget_drops_one_document_only() -> None:
    history = EditHistory()
    history.record(URI, [Edit(0, 0, "a", "")], 1.0)
    history.record(OTHER, [Edit(0, 0, "b", "")], 2.0)
    history.forget(URI)
    assert history.hunks(URI) == []
    assert history.changed_at(URI) is None
    assert history.hunks(OTHER) == [Hunk(0, "", "b", 2.0)]
    assert history.changed_at(OTHER) == 2.0
    history.forget("file:///never/opened.py")


def test_hunks_are_a_copy() -> None:
    history = EditHistory()
    history.record(URI, [Edit(0, 0, "a", "")], 1.0)
    history.hunks(URI).clear()
    assert history.hunks(URI) == [Hunk(0, "", "a", 1.0)]


def test_touches_counts_adjoining_ranges() -> None:
    hunk = Hunk(10, "old", "new", 0.0)
    assert hunk.end == 13
    assert hunk.touches(13, 13)
    assert hunk.touches(5, 10)
    assert not hunk.touches(14, 20)
    assert not hunk.touches(2, 9)
