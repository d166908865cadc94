"""Unit tests for ghostwright.completion.parse_check and ghostwright.context: cutting and
checking suggestions with the parse tree, the ring of recent edits, the context of a prompt.

All trees are real tree-sitter trees. A case that shows a known defect is marked xfail
(strict), so fixing the defect turns it into an unexpected pass and the marker gets removed.
"""

from __future__ import annotations

import pytest

from ghostwright.completion.parse_check import _closing, fills_gap, refine_suggestion
from ghostwright.completion.postprocess import unclosed_brackets
from ghostwright.context.gather import NEARBY_LINES, WINDOW_CHARS, comment_marker, gather_context
from ghostwright.context.recent import RING_CAPACITY, RING_CHUNK_LINES, RecentChunks
from ghostwright.prompt import ContextChunk
from ghostwright.syntax import SyntaxTree


def at(language_id: str, marked: str) -> tuple[SyntaxTree, int]:
    """A tree of `marked` without its `|`, and the offset the `|` marked."""
    offset = marked.index("|")
    return SyntaxTree(language_id, marked[:offset] + marked[offset + 1 :]), offset


def errors_when_closed(tree: SyntaxTree, offset: int, suggestion: str) -> int:
    """The error count with `suggestion` at `offset`, closed the way the parse check closes it."""
    line_prefix = tree.text[tree.text.rfind("\n", 0, offset) + 1 : offset]
    closed = suggestion + _closing(line_prefix + suggestion, tree.language_id)
    return tree.errors_with_insertion(offset, closed)


Case = tuple[str, str, str]
"""(languageId, document with `|` at the cursor, suggestion)."""
Expected = tuple[str, str, str, str]
"""(languageId, document with `|` at the cursor, suggestion, what refine_suggestion returns)."""


# --- refine_suggestion: kept whole ----------------------------------------------------------

VALID: list[Case] = [
    ("python", "def f(x):\n    |\n", "return x + 1"),
    ("python", "def f(x):\n    |\n", "y = x * 2\n    return y"),
    ("javascript", "function f(a) {\n  |\n}\n", "return a + 1;"),
    ("typescript", "function f(a: number): number {\n  |\n}\n", "return a + 1;"),
    ("go", "package main\n\nfunc main() {\n\t|\n}\n", "x := 1\n\t_ = x"),
    ("rust", "fn main() {\n    |\n}\n", "let x = 1;"),
    ("java", "class A {\n    void f() {\n        |\n    }\n}\n", "int x = 1;"),
    ("c", "int main(void) {\n    |\n}\n", "return 0;"),
]


@pytest.mark.parametrize(("language_id", "marked", "suggestion"), VALID)
def test_a_suggestion_that_parses_is_kept_whole(
    language_id: str, marked: str, suggestion: str
) -> None:
    """A complete, well-formed suggestion comes back unchanged."""
    tree, offset = at(language_id, marked)
    assert refine_suggestion(tree, offset, suggestion) == suggestion


def test_refine_suggestion_leaves_the_document_alone() -> None:
    """Checking a suggestion edits copies: the document's text and error count stay."""
    tree, offset = at("python", "def f(x):\n    |\n")
    text, errors = tree.text, tree.error_count()
    refine_suggestion(tree, offset, "return x\n    ) ]")
    assert (tree.text, tree.error_count()) == (text, errors)


# --- refine_suggestion: cut at the end of the unit ------------------------------------------

CUT: list[Expected] = [
    ("python", "y = foo(|\n", "a, b)\nprint(zzz", "a, b)"),
    ("python", "y = foo(|\nz = 1\n", "a, b)\nprint(zzz)", "a, b)"),
    ("python", "def f(x):\n    y = x\n    |\n\nz = 2\n", "return y\n\nprint(f(1))", "return y"),
    # At an empty block start the unit is the block's owner: the whole body is kept.
    (
        "python",
        "def f(x):\n    |\n",
        "y = x + 1\n    return y\n\nprint(f(1))",
        "y = x + 1\n    return y",
    ),
    (
        "python",
        "class A:\n    def f(self):\n        return 1\n\n    |\n",
        "def g(self):\n        return 2\n\nprint(A().g())",
        "def g(self):\n        return 2",
    ),
    (
        "javascript",
        "function f(a) {\n  const b = a;\n  |",
        "return b;\n}\nfunction g() {\n  return 2;\n}",
        "return b;",
    ),
    ("go", "package main\n\nfunc main() {\n\tx := 1\n\t|", "_ = x\n}\n\nfunc g() {}", "_ = x"),
    ("rust", "fn main() {\n    let x = 1;\n    |", "drop(x);\n}\n\nfn g() {}", "drop(x);"),
    (
        "java",
        "class A {\n    void f() {\n        int x = 1;\n        |",
        "x++;\n    }\n    void g() {}\n}",
        "x++;",
    ),
    (
        "c",
        "int main(void) {\n    int x = 1;\n    |",
        "x++;\n    return x;\n}\nint g(void) { return 1; }",
        "x++;",
    ),
]


@pytest.mark.parametrize(("language_id", "marked", "suggestion", "expected"), CUT)
def test_a_suggestion_running_past_its_unit_is_cut_at_the_unit_end(
    language_id: str, marked: str, suggestion: str, expected: str
) -> None:
    """What follows the end of the statement or definition being written is dropped, even
    though the whole suggestion would pass the parse check (so the cut, not the check, acts)."""
    tree, offset = at(language_id, marked)
    assert errors_when_closed(tree, offset, suggestion) <= tree.error_count()
    assert refine_suggestion(tree, offset, suggestion) == expected


# --- refine_suggestion: a fill-in-the-middle model filling a gap ---------------------------

GAPS: list[Expected] = [
    (
        "python",
        "def f(xs):\n    total = 0\n    |\n    return total, seen\n",
        "seen = set()\n    for x in xs:\n        total += x",
        "seen = set()\n    for x in xs:\n        total += x",
    ),
    (
        "javascript",
        "function f(a) {\n  let b = 0;\n  |\n  return b + c;\n}\n",
        "b = a * 2;\n  const c = 1;",
        "b = a * 2;\n  const c = 1;",
    ),
    (
        "java",
        "class A {\n    int f(int a) {\n        int b = 0;\n        |\n"
        "        return b;\n    }\n}\n",
        "b = a;\n        b++;",
        "b = a;\n        b++;",
    ),
]


@pytest.mark.parametrize(("language_id", "marked", "suggestion", "expected"), GAPS)
def test_a_fill_of_a_gap_keeps_its_statements(
    language_id: str, marked: str, suggestion: str, expected: str
) -> None:
    """On a blank line with code of its block below, a FIM model (which saw that code) fills
    the gap with as many statements as it takes; a prefix-only model's suggestion there is cut
    after its first statement, as everywhere."""
    tree, offset = at(language_id, marked)
    assert refine_suggestion(tree, offset, suggestion, fill_in_middle=True) == expected
    first = refine_suggestion(tree, offset, suggestion)
    assert first == suggestion.split("\n", 1)[0]


@pytest.mark.parametrize(
    "marked",
    [
        "def f(x):\n    y = x\n    |\n\nz = 2\n",  # the block ends below: not a gap
        "def f(x):\n    y = foo(|\n    return y\n",  # code before the cursor on its line
        "def f(x):\n    |\n",  # an empty block: the owner's unit is kept anyway
    ],
)
def test_only_a_blank_line_inside_a_block_is_a_gap(marked: str) -> None:
    offset = marked.index("|")
    assert not fills_gap(marked.replace("|", ""), offset)


def test_a_gap_is_seen_through_crlf() -> None:
    marked = "def f(x):\r\n    y = x\r\n    |\r\n    return y\r\n"
    assert fills_gap(marked.replace("|", ""), marked.index("|"))


# --- refine_suggestion: fall back to the first line, or to nothing --------------------------

FIRST_LINE: list[Expected] = [
    ("python", "def f(x):\n    |\n", "return x\n    ) ]", "return x"),
    ("python", "x = 1\n|\n", "y = [1,\n    2 ) ]", "y = [1,"),
    ("python", "def f(x):\n    |\n", "return g(x,\n        ) ]", "return g(x,"),
    ("javascript", "function f(a) {\n  |\n}\n", "return g(a,\n  ) ]", "return g(a,"),
]


@pytest.mark.parametrize(("language_id", "marked", "suggestion", "expected"), FIRST_LINE)
def test_a_suggestion_broken_after_its_first_line_falls_back_to_the_first_line(
    language_id: str, marked: str, suggestion: str, expected: str
) -> None:
    """A multi-line suggestion whose later lines add parse errors keeps only its first line."""
    tree, offset = at(language_id, marked)
    assert errors_when_closed(tree, offset, suggestion) > tree.error_count()
    assert refine_suggestion(tree, offset, suggestion) == expected


BROKEN: list[Case] = [
    ("python", "x = 1\n|\n", ")))"),
    ("python", "x = 1\n|\n", "def def"),
    ("python", "x = 1\n|\n", ")))\ny = 2"),
    ("javascript", "let a = 1;\n|\n", "}}}"),
    ("go", "package main\n\nfunc main() {\n\t|\n}\n", "}}"),
    ("rust", "fn main() {\n    |\n}\n", "let = ;"),
    ("java", "class A {\n    void f() {\n        |\n    }\n}\n", ")))"),
    ("c", "int main(void) {\n    |\n}\n", "int int int;"),
]


@pytest.mark.parametrize(("language_id", "marked", "suggestion"), BROKEN)
def test_a_suggestion_broken_on_its_first_line_is_dropped(
    language_id: str, marked: str, suggestion: str
) -> None:
    """Nothing is left when even the first line adds parse errors."""
    tree, offset = at(language_id, marked)
    assert refine_suggestion(tree, offset, suggestion) == ""


@pytest.mark.parametrize("suggestion", ["", "   ", "\n\n"])
def test_a_blank_suggestion_is_dropped(suggestion: str) -> None:
    """Whitespace alone is never offered, though it cannot break the parse."""
    tree, offset = at("python", "x = 1\n|\n")
    assert refine_suggestion(tree, offset, suggestion) == ""


# --- refine_suggestion: unfinished constructs are closed before the check -------------------

UNFINISHED: list[Case] = [
    ("python", "x = 1\n|\n", "foo(a, [1,"),
    ("python", "def f(x):\n    |\n", "if x:\n        return [1,"),
    ("python", "def f(x):\n    |\n", "return foo(x,\n"),
    ("python", "def f(x):\n    |\n", "return foo(x,\n            [1,"),
    ("javascript", "function f(a) {\n  |\n}\n", "if (a) {"),
    ("javascript", "let a = 1;\n|\n", "foo(a, ["),
    ("go", "package main\n\nfunc main() {\n\t|\n}\n", "for i := 0; i < 3; i++ {"),
    ("rust", "fn main() {\n    |\n}\n", "if x {"),
    ("java", "class A {\n    void f() {\n        |\n    }\n}\n", "while (true) {"),
    ("c", "int main(void) {\n    |\n}\n", "if (x) {"),
]


@pytest.mark.parametrize(("language_id", "marked", "suggestion"), UNFINISHED)
def test_a_suggestion_ending_inside_an_open_bracket_is_kept(
    language_id: str, marked: str, suggestion: str
) -> None:
    """Inserted as is it adds errors; closed by `_closing` it does not, so it is kept."""
    tree, offset = at(language_id, marked)
    assert tree.errors_with_insertion(offset, suggestion) > tree.error_count()
    assert errors_when_closed(tree, offset, suggestion) <= tree.error_count()
    assert refine_suggestion(tree, offset, suggestion) == suggestion


@pytest.mark.parametrize(
    ("marked", "suggestion"),
    [
        ("x = 1\n|\n", "if x:"),
        ("x = 1\n|\ny = 2\n", "class A:"),
        ("def f(x):\n    |\n    return x\n", "for v in x:"),
        ("class A:\n    |\n", "def g(self):"),
        ("if x:\n    pass\n|\ny = 2\n", "else:"),
    ],
)
def test_a_suggestion_ending_after_a_python_block_opener_is_kept(
    marked: str, suggestion: str
) -> None:
    """A header whose body is not written yet is not dropped."""
    tree, offset = at("python", marked)
    assert refine_suggestion(tree, offset, suggestion) == suggestion


# --- refine_suggestion: plain text and documents that are already broken --------------------


@pytest.mark.parametrize("language_id", ["plaintext", "markdown", "unknown-language"])
@pytest.mark.parametrize("suggestion", [")))\nfoo(", "def def", "  anything  \n"])
def test_plain_text_suggestions_are_returned_unchanged(language_id: str, suggestion: str) -> None:
    """Without a grammar there is nothing to cut at or check against."""
    tree, offset = at(language_id, "hello (|\n")
    assert not tree.has_tree
    assert refine_suggestion(tree, offset, suggestion) == suggestion


BROKEN_DOCUMENT = {
    "python": "def broken(:\n    pass\n\ndef ok():\n    |\n",
    "javascript": "function broken( {\n}\nfunction ok() {\n  |\n}\n",
    "go": "package main\n\nfunc broken( {\n}\n\nfunc ok() {\n\t|\n}\n",
}


@pytest.mark.parametrize(
    ("language_id", "suggestion"),
    [("python", "return 1"), ("javascript", "return 1;"), ("go", "_ = 1")],
)
def test_a_suggestion_adding_no_error_to_a_broken_document_is_kept(
    language_id: str, suggestion: str
) -> None:
    """Errors elsewhere are the baseline: a suggestion is judged by the errors it adds."""
    tree, offset = at(language_id, BROKEN_DOCUMENT[language_id])
    assert tree.error_count() > 0
    assert refine_suggestion(tree, offset, suggestion) == suggestion


@pytest.mark.parametrize(
    ("language_id", "suggestion"),
    [("python", "return )"), ("javascript", "return );"), ("go", "_ = )")],
)
def test_a_suggestion_adding_an_error_to_a_broken_document_is_dropped(
    language_id: str, suggestion: str
) -> None:
    """The baseline is not a free pass: one more error still drops the suggestion."""
    tree, offset = at(language_id, BROKEN_DOCUMENT[language_id])
    assert tree.error_count() > 0
    assert refine_suggestion(tree, offset, suggestion) == ""


def test_the_baseline_keeps_lines_that_a_cut_would_otherwise_reach() -> None:
    """In a broken document, a valid multi-line suggestion is cut per unit, not dropped."""
    tree, offset = at("python", "def f(:\n    pass\n\nx = 1\n|\n")
    assert refine_suggestion(tree, offset, "y = 2\nz = )") == "y = 2"


# --- refine_suggestion: known defects -------------------------------------------------------

INSIDE_CLOSED_BRACKETS: list[Case] = [
    ("python", "print(|)\n", "x"),
    ("python", "xs = [|]\n", "1, 2"),
    ("javascript", "foo(|);\n", "a"),
    ("rust", "fn main() {\n    let v = vec![|];\n}\n", "1, 2"),
]
BRACKETS_IN_STRINGS: list[Case] = [
    ("python", "x = 1\n|\n", 'print("(")'),
    ("python", "x = 1\n|\n", 's = "(["'),
    ("javascript", "let a = 1;\n|\n", 'const s = "{";'),
    ("go", "package main\n\nfunc main() {\n\t|\n}\n", 'println("(")'),
]
COLON_IN_BRACKETS: list[Case] = [
    ("python", "x = 1\n|\n", "ys = xs[1:"),
    ("python", "x = 1\n|\n", "print(xs[:"),
]


@pytest.mark.parametrize(
    ("language_id", "marked", "suggestion"), INSIDE_CLOSED_BRACKETS + BRACKETS_IN_STRINGS
)
def test_bracket_cases_parse_cleanly_as_written(
    language_id: str, marked: str, suggestion: str
) -> None:
    """The examples of the two tests below are valid code, so dropping them would be wrong."""
    tree, offset = at(language_id, marked)
    assert tree.error_count() == 0
    assert tree.errors_with_insertion(offset, suggestion) == 0


@pytest.mark.parametrize(("language_id", "marked", "suggestion"), INSIDE_CLOSED_BRACKETS)
def test_a_suggestion_inside_brackets_closed_after_the_cursor_is_kept(
    language_id: str, marked: str, suggestion: str
) -> None:
    """Completing the arguments of `f(|)` keeps the suggestion."""
    tree, offset = at(language_id, marked)
    assert refine_suggestion(tree, offset, suggestion) == suggestion


@pytest.mark.parametrize(("language_id", "marked", "suggestion"), BRACKETS_IN_STRINGS)
def test_a_suggestion_with_brackets_in_a_string_is_kept(
    language_id: str, marked: str, suggestion: str
) -> None:
    """A bracket inside a string literal is not an open bracket."""
    tree, offset = at(language_id, marked)
    assert refine_suggestion(tree, offset, suggestion) == suggestion


@pytest.mark.parametrize(("language_id", "marked", "suggestion"), COLON_IN_BRACKETS)
def test_a_suggestion_ending_in_a_colon_inside_brackets_is_kept(
    language_id: str, marked: str, suggestion: str
) -> None:
    """A slice's `:` inside an open bracket does not open a block."""
    tree, offset = at(language_id, marked)
    assert tree.errors_with_insertion(offset, suggestion + unclosed_brackets(suggestion)) == 0
    assert refine_suggestion(tree, offset, suggestion) == suggestion


# --- _closing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language_id", "expected"),
    [
        ("foo([{", "python", "}])"),
        ("if (a) { g([", "javascript", "])}"),
        ("foo(\n    a,\n    [b", "python", "])"),
        ("f(a)[0]{", "rust", "}"),
        (")(", "c", ")"),
    ],
)
def test_closing_closes_open_brackets_innermost_first(
    text: str, language_id: str, expected: str
) -> None:
    """Open brackets are closed in reverse order; stray closers are ignored."""
    assert _closing(text, language_id) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("if x:", "\n    pass"),
        ("    if x:", "\n        pass"),
        ("def f(x):  ", "\n    pass"),
        ("\tfor v in xs:", "\n" + " " * 5 + "pass"),
        ("class A:\n    def f(self):", "\n        pass"),
    ],
)
def test_closing_gives_a_python_block_opener_a_body(text: str, expected: str) -> None:
    """A trailing `:` gets a `pass` body indented one level past the opener's line."""
    assert _closing(text, "python") == expected


@pytest.mark.parametrize(
    ("text", "language_id"),
    [
        ("", "python"),
        ("a(b)[c]{d}", "python"),
        ("foo(x, [1, 2], {k: v})", "javascript"),
        ("if x:\n    y = 1", "python"),
        ("case 1:", "c"),
        ("label:", "javascript"),
    ],
)
def test_closing_adds_nothing_to_finished_text(text: str, language_id: str) -> None:
    """Balanced text, and a `:` outside Python or not at the end, need nothing."""
    assert _closing(text, language_id) == ""


# --- comment_marker -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language_id", "expected"),
    [
        ("python", "#"),
        ("plaintext", "#"),
        ("javascript", "//"),
        ("typescript", "//"),
        ("go", "//"),
        ("rust", "//"),
        ("java", "//"),
        ("c", "//"),
        ("cpp", "//"),
    ],
)
def test_comment_marker(language_id: str, expected: str) -> None:
    """Python labels chunks with `#`, the C-like languages with `//`."""
    assert comment_marker(language_id) == expected


# --- RecentChunks ---------------------------------------------------------------------------

NUMBERED = "".join(f"line_{row:03d} = {row}\n" for row in range(200))


def offset_of_row(text: str, row: int) -> int:
    return sum(len(line) + 1 for line in text.split("\n")[:row])


def texts(chunks: list[ContextChunk]) -> list[str]:
    return [chunk.text for chunk in chunks]


@pytest.mark.parametrize(
    ("row", "first"),
    [(0, 0), (5, 0), (100, 100 - RING_CHUNK_LINES // 2), (199, 199 - RING_CHUNK_LINES // 2)],
)
def test_remember_keeps_the_lines_around_the_offset(row: int, first: int) -> None:
    """The chunk is RING_CHUNK_LINES lines starting half of them above the offset's row."""
    recent = RecentChunks()
    recent.remember("file:///a.py", NUMBERED, offset_of_row(NUMBERED, row))
    expected = "\n".join(NUMBERED.split("\n")[first : first + RING_CHUNK_LINES]).strip("\n")
    assert texts(recent.for_prompt("file:///b.py", "")) == [expected]


@pytest.mark.parametrize("text", ["", "\n\n", "   \n\t\n"])
def test_remember_ignores_blank_documents(text: str) -> None:
    """Nothing worth showing, nothing remembered."""
    recent = RecentChunks()
    recent.remember("file:///a.py", text, 0)
    assert recent.for_prompt("file:///b.py", "") == []


def test_for_prompt_labels_chunks_with_the_file_name_oldest_first() -> None:
    """Chunks come back in the order they were remembered, labelled with the uri's last part."""
    recent = RecentChunks()
    recent.remember("file:///src/one.py", "alpha = 1\n", 0)
    recent.remember("file:///src/two.py", "QQQ_ZZZ()\n", 0)
    recent.remember("file:///lib/three.py", "import json\n", 0)
    assert recent.for_prompt("file:///other.py", "") == [
        ContextChunk("one.py", "alpha = 1", file="one.py"),
        ContextChunk("two.py", "QQQ_ZZZ()", file="two.py"),
        ContextChunk("three.py", "import json", file="three.py"),
    ]


def test_for_prompt_leaves_out_the_current_document() -> None:
    """The cursor's own file is in the prompt already."""
    recent = RecentChunks()
    recent.remember("file:///a.py", "alpha = 1\n", 0)
    recent.remember("file:///b.py", "QQQ_ZZZ()\n", 0)
    assert texts(recent.for_prompt("file:///a.py", "")) == ["QQQ_ZZZ()"]
    assert texts(recent.for_prompt("file:///b.py", "")) == ["alpha = 1"]


def test_for_prompt_leaves_out_chunks_similar_to_the_text_around_the_cursor() -> None:
    """A chunk that is nearly what the model sees around the cursor adds nothing."""
    code = "def total(items):\n    return sum(item.price for item in items)\n"
    recent = RecentChunks()
    recent.remember("file:///copy.py", code, 0)
    recent.remember("file:///other.py", "QQQ_ZZZ()\n", 0)
    around = code + "\nprint(total([]))\n"
    assert texts(recent.for_prompt("file:///main.py", around)) == ["QQQ_ZZZ()"]
    assert len(recent.for_prompt("file:///main.py", "")) == 2


def test_remember_replaces_a_near_duplicate_of_the_same_document() -> None:
    """Typing on in one place updates that file's chunk (and makes it the newest)."""
    base = "".join(f"value_{i} = compute({i}, scale=2.5)\n" for i in range(20))
    recent = RecentChunks()
    recent.remember("file:///a.py", base, 0)
    recent.remember("file:///b.py", "QQQ_ZZZ()\n", 0)
    recent.remember("file:///a.py", base + "value_20 = comp", 0)
    assert texts(recent.for_prompt("file:///c.py", "")) == ["QQQ_ZZZ()", base + "value_20 = comp"]


def test_remember_keeps_different_chunks_of_one_document_and_copies_in_two() -> None:
    """Only a near-duplicate of the same uri is replaced."""
    recent = RecentChunks()
    recent.remember("file:///a.py", "alpha = 1\n", 0)
    recent.remember("file:///a.py", "QQQ_ZZZ()\n", 0)
    recent.remember("file:///b.py", "alpha = 1\n", 0)
    assert recent.for_prompt("file:///c.py", "") == [
        ContextChunk("a.py", "alpha = 1", file="a.py"),
        ContextChunk("a.py", "QQQ_ZZZ()", file="a.py"),
        ContextChunk("b.py", "alpha = 1", file="b.py"),
    ]


def test_the_ring_holds_at_most_ring_capacity_chunks_dropping_the_oldest() -> None:
    """Past capacity the oldest chunks go first."""
    recent = RecentChunks()
    for i in range(RING_CAPACITY + 3):
        recent.remember(f"file:///f{i}.py", f"v{i} = {i}\n", 0)
    labels = [chunk.label for chunk in recent.for_prompt("file:///main.py", "")]
    assert labels == [f"f{i}.py" for i in range(3, RING_CAPACITY + 3)]


def test_forget_removes_every_chunk_of_a_document() -> None:
    """A closed document's chunks leave the ring; others stay in order."""
    recent = RecentChunks()
    recent.remember("file:///a.py", "alpha = 1\n", 0)
    recent.remember("file:///b.py", "QQQ_ZZZ()\n", 0)
    recent.remember("file:///a.py", "import json\n", 0)
    recent.forget("file:///a.py")
    assert texts(recent.for_prompt("file:///c.py", "")) == ["QQQ_ZZZ()"]
    recent.forget("file:///never-seen.py")
    assert texts(recent.for_prompt("file:///c.py", "")) == ["QQQ_ZZZ()"]


PARSE_CONFIG = '''def parse_config(path):
    """Read key = value pairs from a file, skipping comments."""
    settings = {}
    with open(path) as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, _, value = line.partition("=")
            settings[key.strip()] = value.strip()
    return settings
'''
INVENTORY = """class Inventory:
    def __init__(self):
        self.items = []

    def add(self, name, count=1):
        for item in self.items:
            if item.name == name:
                item.count += count
                return item
        self.items.append(Item(name, count))

    def total(self):
        return sum(item.count for item in self.items)
"""


def test_an_unrelated_chunk_of_similar_length_is_offered() -> None:
    """Code that shares no line with the text around the cursor is not a near-copy of it."""
    recent = RecentChunks()
    recent.remember("file:///config.py", PARSE_CONFIG, 0)
    assert texts(recent.for_prompt("file:///inventory.py", INVENTORY)) == [PARSE_CONFIG.strip()]


# --- gather_context -------------------------------------------------------------------------

LIBRARY = (
    "class Foo:\n"
    "    def bar(self, n: int) -> str:\n"
    "        return str(n)\n"
    "\n"
    "\n"
    "def helper(a, b=2):\n"
    "    return a + b\n"
    "\n"
    "\n"
    "def unused(z):\n"
    "    pass\n"
)


def definitions_chunk(chunks: tuple[ContextChunk, ...]) -> list[str]:
    """The lines of the other files' definitions chunks ([] when there are none)."""
    found = [c for c in chunks if c.label.endswith(", definitions")]
    assert len(found) <= 1
    return found[0].text.split("\n") if found else []


def test_signatures_of_symbols_used_near_the_cursor_come_from_other_documents() -> None:
    """Functions and methods (`x.bar(` for `Foo.bar`) used nearby are given; unused are not."""
    tree, offset = at("python", "def main(x):\n    y = helper(1)\n    x.bar(|\n")
    library = SyntaxTree("python", LIBRARY)
    chunks = gather_context(
        "file:///main.py", tree, offset, [("file:///lib.py", library)], RecentChunks()
    )
    assert definitions_chunk(chunks) == ["def bar(self, n: int) -> str:", "def helper(a, b=2):"]


def test_a_go_method_is_matched_by_its_name_after_the_receiver() -> None:
    """`x.Bar(` finds `func (f *Foo) Bar`, listed as `Foo.Bar`."""
    library = SyntaxTree(
        "go",
        'package lib\n\ntype Foo struct{}\n\nfunc (f *Foo) Bar(n int) string {\n\treturn ""\n}\n',
    )
    tree, offset = at("go", "package main\n\nfunc main() {\n\tx.Bar(|\n}\n")
    chunks = gather_context(
        "file:///main.go", tree, offset, [("file:///lib.go", library)], RecentChunks()
    )
    assert definitions_chunk(chunks) == ["func (f *Foo) Bar(n int) string"]


def test_definitions_of_other_languages_and_of_this_document_are_left_out() -> None:
    """Only other documents of the same language count; this one's prefix is in the prompt."""
    tree, offset = at("python", "def helper(a):\n    return a\n\n\nhelper(|\n")
    javascript = SyntaxTree("javascript", "function helper(a) { return a; }\n")
    others = [("file:///lib.js", javascript), ("file:///main.py", tree)]
    assert gather_context("file:///main.py", tree, offset, others, RecentChunks()) == ()


@pytest.mark.parametrize(
    ("filler", "included"), [(NEARBY_LINES - 2, True), (NEARBY_LINES - 1, False)]
)
def test_only_symbols_used_within_nearby_lines_count(filler: int, included: bool) -> None:
    """A use NEARBY_LINES lines up (the cursor's line included) counts; one more line does not."""
    source = "y = helper(1)\n" + "".join(f"v{i} = {i}\n" for i in range(filler)) + "z = |\n"
    tree, offset = at("python", source)
    library = SyntaxTree("python", LIBRARY)
    chunks = gather_context(
        "file:///main.py", tree, offset, [("file:///lib.py", library)], RecentChunks()
    )
    assert definitions_chunk(chunks) == (["def helper(a, b=2):"] if included else [])


FILLER = "".join(f"value_{i} = {i}\n" for i in range(400))


def test_imports_beyond_the_window_become_a_chunk_and_near_ones_are_not_repeated() -> None:
    """Imports the prefix window does not reach are given; those inside it are not."""
    source = "import os\nfrom sys import path\n\n" + FILLER + "import json\n\nx = json.dumps(|)\n"
    tree, offset = at("python", source)
    assert offset > WINDOW_CHARS
    chunks = gather_context("file:///m.py", tree, offset, [], RecentChunks())
    assert chunks == (ContextChunk("imports", "import os\nfrom sys import path"),)


@pytest.mark.parametrize(
    "marked",
    ["import os\nimport json\n\nx = os.sep|\n", "x = os.sep|\n\nimport os\nimport json\n"],
)
def test_imports_are_not_given_when_the_cursor_is_within_the_window(marked: str) -> None:
    """Within WINDOW_CHARS of the start no imports chunk is made, even for imports below."""
    tree, offset = at("python", marked)
    assert offset <= WINDOW_CHARS
    assert gather_context("file:///m.py", tree, offset, [], RecentChunks()) == ()


def test_enclosing_scope_headers_beyond_the_window_become_a_chunk() -> None:
    """Headers of the scopes around the cursor are given, outermost first, when far up."""
    body = "".join(f"        v{i} = {i}\n" for i in range(400))
    tree, offset = at("python", "class Outer:\n    def method(self, a):\n" + body + "        |\n")
    chunks = gather_context("file:///m.py", tree, offset, [], RecentChunks())
    assert chunks == (ContextChunk("enclosing scopes", "class Outer:\ndef method(self, a):"),)


def test_enclosing_scope_headers_within_the_window_are_not_repeated() -> None:
    """A header the prefix shows is not given again."""
    tree, offset = at(
        "python", "class Outer:\n    def method(self, a):\n        v = 1\n        |\n"
    )
    assert gather_context("file:///m.py", tree, offset, [], RecentChunks()) == ()


def test_context_chunks_come_most_stable_first() -> None:
    """Order: recent chunks, other files' definitions, imports, enclosing scopes."""
    recent = RecentChunks()
    recent.remember("file:///dir/other.py", "QQQ_ZZZ = 'zzz'\n", 0)
    recent.remember("file:///m.py", "ignored = 'this document'\n", 0)
    body = "".join(f"        v{i} = {i}\n" for i in range(300))
    source = "import os\n\nclass Outer:\n    def method(self):\n" + body + "        helper(|\n"
    tree, offset = at("python", source)
    library = SyntaxTree("python", LIBRARY)
    chunks = gather_context("file:///m.py", tree, offset, [("file:///lib.py", library)], recent)
    assert chunks == (
        ContextChunk("other.py", "QQQ_ZZZ = 'zzz'", file="other.py"),
        ContextChunk("lib.py, definitions", "def helper(a, b=2):", file="lib.py"),
        ContextChunk("imports", "import os"),
        ContextChunk("enclosing scopes", "class Outer:\ndef method(self):"),
    )
