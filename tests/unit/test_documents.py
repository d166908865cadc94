"""Unit tests for ghostwright.documents: LSP positions <-> string offsets, and edits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types

from ghostwright.documents import (
    UTF8,
    UTF16,
    UTF32,
    Document,
    DocumentNotFoundError,
    Documents,
    PositionError,
    column_to_index,
    index_to_column,
)

URI = "file:///tmp/example.py"


def doc(text: str, encoding: str = UTF16) -> Document:
    return Document(URI, "python", 1, text, encoding)


def pos(line: int, character: int) -> types.Position:
    return types.Position(line=line, character=character)


def partial(start: tuple[int, int], end: tuple[int, int], text: str):
    return types.TextDocumentContentChangePartial(
        range=types.Range(start=pos(*start), end=pos(*end)), text=text
    )


# --- An independent reference model of LSP lines and columns -----------------------------------


def ref_lines(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of every line, end excluding the break; breaks: \\r\\n, \\r, \\n."""
    spans = []
    start = i = 0
    while i < len(text):
        if text[i] == "\r" and i + 1 < len(text) and text[i + 1] == "\n":
            spans.append((start, i))
            i += 2
            start = i
        elif text[i] in "\r\n":
            spans.append((start, i))
            i += 1
            start = i
        else:
            i += 1
    spans.append((start, len(text)))
    return spans


def ref_width(char: str, encoding: str) -> int:
    if encoding == UTF16:
        return len(char.encode("utf-16-le")) // 2
    if encoding == UTF8:
        return len(char.encode("utf-8"))
    return 1


def ref_column(line: str, index: int, encoding: str) -> int:
    return sum(ref_width(c, encoding) for c in line[:index])


# --- Columns in each encoding -------------------------------------------------------------------


def test_utf16_columns_count_an_emoji_as_two_units():
    document = doc("a😀b")
    assert document.offset_at(pos(0, 0)) == 0
    assert document.offset_at(pos(0, 1)) == 1  # before the emoji
    assert document.offset_at(pos(0, 3)) == 2  # after the emoji (1 + 2 units)
    assert document.offset_at(pos(0, 4)) == 3  # end of line
    assert document.position_at(2) == pos(0, 3)
    assert document.position_at(3) == pos(0, 4)


def test_utf16_column_inside_a_surrogate_pair_lands_before_the_character():
    document = doc("a😀b")
    # Column 2 is between the two surrogates of the emoji.
    assert document.offset_at(pos(0, 2)) == 1
    assert column_to_index("😀😀", 1, UTF16) == 0
    assert column_to_index("😀😀", 3, UTF16) == 1


def test_cjk_is_one_utf16_unit_and_three_utf8_units():
    text = "x = '漢字'"
    assert doc(text).offset_at(pos(0, 7)) == 7  # after 漢
    assert doc(text).position_at(7) == pos(0, 7)
    utf8 = doc(text, UTF8)
    # "x = '" is 5 bytes, each CJK character 3 bytes.
    assert utf8.offset_at(pos(0, 8)) == 6
    assert utf8.offset_at(pos(0, 11)) == 7
    assert utf8.position_at(7) == pos(0, 11)
    # A byte column in the middle of 漢 lands before it.
    assert utf8.offset_at(pos(0, 6)) == 5
    assert utf8.offset_at(pos(0, 7)) == 5


def test_utf8_emoji_is_four_bytes():
    document = doc("a😀b", UTF8)
    assert document.offset_at(pos(0, 5)) == 2
    assert document.offset_at(pos(0, 3)) == 1  # inside the emoji
    assert document.position_at(3) == pos(0, 6)


def test_utf32_columns_are_code_points():
    document = doc("a😀b漢", UTF32)
    assert document.offset_at(pos(0, 2)) == 2
    assert document.offset_at(pos(0, 3)) == 3
    assert document.position_at(4) == pos(0, 4)
    assert document.offset_at(pos(0, 99)) == 4


@pytest.mark.parametrize("encoding", [UTF8, UTF16, UTF32])
def test_index_and_column_round_trip(encoding):
    line = "ab😀漢e\u0301\u200b\tz"
    for index in range(len(line) + 1):
        column = index_to_column(line, index, encoding)
        assert column == ref_column(line, index, encoding)
        assert column_to_index(line, column, encoding) == index


@pytest.mark.parametrize("encoding", [UTF8, UTF16, UTF32])
def test_column_past_end_of_line_clamps_to_line_end(encoding):
    document = doc("short\nlonger line\n", encoding)
    assert document.offset_at(pos(0, 5)) == 5
    assert document.offset_at(pos(0, 6)) == 5
    assert document.offset_at(pos(0, 1000)) == 5  # not into the next line
    assert document.offset_at(pos(1, 1000)) == 6 + len("longer line")
    assert document.offset_at(pos(2, 50)) == len(document.text)


def test_line_past_end_is_an_error_when_strict_and_the_end_otherwise():
    document = doc("one\ntwo")
    with pytest.raises(PositionError, match="line 2 is past the end"):
        document.offset_at(pos(2, 0), strict=True)
    with pytest.raises(PositionError):
        document.offset_at(pos(10, 3), strict=True)
    assert document.offset_at(pos(2, 0)) == len("one\ntwo")
    assert document.offset_at(pos(1, 3), strict=True) == len("one\ntwo")


# --- Line breaks --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("", [""]),
        ("a", ["a"]),
        ("a\n", ["a", ""]),
        ("a\r\nb", ["a", "b"]),
        ("a\rb", ["a", "b"]),
        ("a\r\rb", ["a", "", "b"]),
        ("a\n\r\nb\r", ["a", "", "b", ""]),
        ("\r\n\r\n", ["", "", ""]),
        ("x\n\ry", ["x", "", "y"]),
    ],
)
def test_line_count_and_line_text_with_every_kind_of_break(text, lines):
    document = doc(text)
    assert document.line_count == len(lines)
    assert [document.line_text(i) for i in range(document.line_count)] == lines


@pytest.mark.parametrize("text", ["ab\r\ncd\r\n", "ab\rcd\r", "ab\ncd\r\nef\rgh", "😀\r\n漢\r"])
def test_position_at_round_trips_with_crlf_and_lone_cr(text):
    document = doc(text)
    spans = ref_lines(text)
    for line_number, (start, end) in enumerate(spans):
        for offset in range(start, end + 1):
            position = document.position_at(offset)
            expected_column = ref_column(text[start:end], offset - start, UTF16)
            assert position == pos(line_number, expected_column)
            assert document.offset_at(position) == offset


def test_offset_between_cr_and_lf_maps_to_the_end_of_its_line():
    document = doc("ab\r\ncd")
    assert document.position_at(3) == pos(0, 2)
    assert document.position_at(4) == pos(1, 0)


def test_position_at_clamps_offsets_outside_the_text():
    document = doc("ab\ncd")
    assert document.position_at(-5) == pos(0, 0)
    assert document.position_at(100) == pos(1, 2)


# --- Edits --------------------------------------------------------------------------------------


def test_incremental_edit_after_an_emoji_uses_utf16_columns():
    document = doc("a😀b\nline two")
    document.apply_change(partial((0, 3), (0, 4), "B"))
    assert document.text == "a😀B\nline two"
    document.apply_change(partial((0, 4), (1, 4), "\r\n"))
    assert document.text == "a😀B\r\n two"
    assert document.line_count == 2
    assert document.line_text(1) == " two"


def test_edit_past_the_last_line_appends_at_the_end():
    document = doc("x\ny")
    document.apply_change(partial((5, 0), (7, 2), "!"))
    assert document.text == "x\ny!"


def test_whole_document_change_replaces_text_and_reindexes_lines():
    document = doc("old\ntext\nhere")
    document.apply_change(types.TextDocumentContentChangeWholeDocument(text="new\r\n😀"))
    assert document.text == "new\r\n😀"
    assert document.line_count == 2
    assert document.line_text(1) == "😀"
    assert document.offset_at(pos(1, 2)) == len("new\r\n😀")


def test_documents_open_change_close():
    documents = Documents()
    item = types.TextDocumentItem(uri=URI, language_id="python", version=1, text="a😀b")
    documents.open(item)
    assert URI in documents
    params = types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=2),
        content_changes=[partial((0, 3), (0, 3), "X"), partial((0, 0), (0, 1), "")],
    )
    changed, edits = documents.change(params)
    assert changed.text == "😀Xb"
    assert changed.version == 2
    # Offsets in code points, each in the text before it: "a😀b" -> "a😀Xb" -> "😀Xb".
    assert [(e.start, e.removed, e.inserted) for e in edits] == [(2, 0, "X"), (0, 1, "")]
    documents.close(URI)
    assert URI not in documents
    with pytest.raises(DocumentNotFoundError, match="is not open"):
        documents.get(URI)


def test_documents_use_their_negotiated_encoding():
    documents = Documents(encoding=UTF8)
    item = types.TextDocumentItem(uri=URI, language_id="python", version=1, text="漢x")
    document = documents.open(item)
    assert document.offset_at(pos(0, 3)) == 1


# --- Property: edits through LSP positions equal edits on a plain string ----------------------

PIECES = ["a", "b", " ", "\t", "\n", "\r\n", "\r", "😀", "漢", "e\u0301", "\u200b", "()"]
pieces_text = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)


@st.composite
def lsp_point(draw, text: str, encoding: str) -> tuple[types.Position, int]:
    """A position in `text` and the offset it means, computed by the reference model.

    Mostly valid positions; sometimes a column past the end of its line or a line past the end
    of the document (both clamp, following the LSP specification).
    """
    spans = ref_lines(text)
    kind = draw(st.sampled_from(["valid", "valid", "valid", "past_column", "past_line"]))
    if kind == "past_line":
        line = len(spans) + draw(st.integers(0, 3))
        return pos(line, draw(st.integers(0, 5))), len(text)
    line = draw(st.integers(0, len(spans) - 1))
    start, end = spans[line]
    line_str = text[start:end]
    if kind == "past_column":
        width = ref_column(line_str, len(line_str), encoding)
        return pos(line, width + draw(st.integers(0, 4))), end
    index = draw(st.integers(0, len(line_str)))
    return pos(line, ref_column(line_str, index, encoding)), start + index


@st.composite
def edit_scripts(draw):
    encoding = draw(st.sampled_from([UTF16, UTF16, UTF8, UTF32]))
    initial = draw(pieces_text)
    reference = initial
    changes = []
    for _ in range(draw(st.integers(1, 8))):
        if draw(st.integers(0, 9)) == 0:
            reference = draw(pieces_text)
            changes.append(types.TextDocumentContentChangeWholeDocument(text=reference))
            continue
        a = draw(lsp_point(reference, encoding))
        b = draw(lsp_point(reference, encoding))
        (start, start_offset), (end, end_offset) = sorted([a, b], key=lambda item: item[1])
        new_text = draw(pieces_text)
        reference = reference[:start_offset] + new_text + reference[end_offset:]
        changes.append(
            types.TextDocumentContentChangePartial(
                range=types.Range(start=start, end=end), text=new_text
            )
        )
    return encoding, initial, changes, reference


@settings(max_examples=300, deadline=None)
@given(edit_scripts())
def test_incremental_edits_match_a_reference_string(script):
    encoding, initial, changes, reference = script
    document = doc(initial, encoding)
    for change in changes:
        document.apply_change(change)
    assert document.text == reference
    spans = ref_lines(reference)
    assert document.line_count == len(spans)
    for number, (start, end) in enumerate(spans):
        assert document.line_starts[number] == start
        assert document.line_text(number) == reference[start:end]


@settings(max_examples=200, deadline=None)
@given(text=pieces_text, encoding=st.sampled_from([UTF8, UTF16, UTF32]))
def test_positions_round_trip_for_every_offset_on_a_line(text, encoding):
    document = doc(text, encoding)
    for number, (start, end) in enumerate(ref_lines(text)):
        for offset in range(start, end + 1):
            expected = pos(number, ref_column(text[start:end], offset - start, encoding))
            assert document.position_at(offset) == expected
            assert document.offset_at(expected, strict=True) == offset


_PIECES = st.lists(st.sampled_from(["a", "é", "😀", "\n", "\r", "\r\n", " "]), max_size=12).map(
    "".join
)


@settings(max_examples=400, deadline=None)
@given(
    text=_PIECES,
    edits=st.lists(
        st.tuples(st.integers(0, 40), st.integers(0, 40), _PIECES), min_size=1, max_size=8
    ),
)
def test_line_starts_after_incremental_edits_match_a_fresh_scan(
    text: str, edits: list[tuple[int, int, str]]
) -> None:
    """Line starts are updated incrementally per change; any mix of CR, LF and CRLF, split or
    joined by the edit, must give what scanning the whole new text gives."""
    document = Document("file:///t.py", "python", 1, text, encoding="utf-32")
    for a, b, inserted in edits:
        start, end = sorted((min(a, len(document.text)), min(b, len(document.text))))
        document.apply_change(
            types.TextDocumentContentChangePartial(
                range=types.Range(start=document.position_at(start), end=document.position_at(end)),
                text=inserted,
            )
        )
        fresh = Document("file:///t.py", "python", 1, document.text, encoding="utf-32")
        assert document.line_starts == fresh.line_starts
