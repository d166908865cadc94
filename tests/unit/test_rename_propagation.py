"""Unit tests for ghostwright.edits.rename: a rename at a binding followed to the binding's
other uses, on real tree-sitter trees updated by the rename as the server's are."""

from __future__ import annotations

import re

from ghostwright.edits.history import Hunk
from ghostwright.edits.proposal import Proposal
from ghostwright.edits.rename import Rename, rename_changes, renamed_identifier
from ghostwright.syntax import SyntaxTree
from ghostwright.syntax.tree import WINDOW_MIN_LINES


def renamed(language_id: str, marked: str, new: str) -> str | None:
    """The person renames the identifier after `|` in `marked` to `new`: the text once the
    proposal is applied, or None when nothing is proposed."""
    at = marked.index("|")
    text = marked[:at] + marked[at + 1 :]
    match = re.match(r"\w+", text[at:])
    assert match is not None
    old = match.group(0)
    tree = SyntaxTree(language_id, text)
    tree.apply_edit(at, at + len(old), new)
    rename = renamed_identifier(tree.text, Hunk(at, old, new, 0.0))
    assert rename == Rename(old, new, at, at + len(new))
    changes = rename_changes(tree, rename)
    if changes is None:
        return None
    return Proposal("rename", tuple(changes), "").apply(tree.text)


# --- which hunk is a rename ----------------------------------------------------------------


def test_a_hunk_inside_a_name_is_the_whole_name_renamed() -> None:
    text = "total = 1\n"
    # "totl" became "total" by typing the "a".
    assert renamed_identifier(text, Hunk(3, "", "a", 0.0)) == Rename("totl", "total", 0, 5)
    # "result" became "total" letter by letter.
    assert renamed_identifier(text, Hunk(0, "result", "total", 0.0)) == Rename(
        "result", "total", 0, 5
    )


def test_a_name_that_is_no_identifier_or_a_keyword_is_no_rename() -> None:
    assert renamed_identifier("class = 1\n", Hunk(0, "x", "class", 0.0)) is None
    assert renamed_identifier("None = 1\n", Hunk(0, "x", "None", 0.0)) is None
    assert renamed_identifier("x = 1\n", Hunk(0, "None", "x", 0.0)) is None
    assert renamed_identifier("9x = 1\n", Hunk(0, "", "9", 0.0)) is None
    assert renamed_identifier("a-b = 1\n", Hunk(1, "", "-b", 0.0)) is None
    assert renamed_identifier("x = 1\n", Hunk(0, "x", "x", 0.0)) is None


def test_a_hunk_across_lines_is_no_rename() -> None:
    assert renamed_identifier("ab\ncd = 1\n", Hunk(0, "x", "ab\ncd", 0.0)) is None
    assert renamed_identifier("cd = 1\n", Hunk(0, "ab\n", "", 0.0)) is None


def test_a_name_typed_as_a_keyword_gives_no_proposal() -> None:
    text = "def f(klass):\n    return klass\n"
    tree = SyntaxTree("python", text)
    tree.apply_edit(6, 11, "class")
    assert renamed_identifier(tree.text, Hunk(6, "klass", "class", 0.0)) is None


# --- Python ---------------------------------------------------------------------------------


def test_a_local_variable_is_renamed_in_its_function() -> None:
    marked = (
        "def f(items):\n"
        "    |total = 0\n"
        "    for item in items:\n"
        "        total += item\n"
        "    return total\n"
        "\n"
        "total = f([1])\n"
    )
    assert renamed("python", marked, "acc") == (
        "def f(items):\n"
        "    acc = 0\n"
        "    for item in items:\n"
        "        acc += item\n"
        "    return acc\n"
        "\n"
        "total = f([1])\n"
    )


def test_a_parameter_is_renamed_in_the_body_but_not_keyword_or_attribute_names() -> None:
    marked = "def f(|x, y):\n    z = x + y\n    g(x=x)\n    return obj.x + x\n"
    assert renamed("python", marked, "value") == (
        "def f(value, y):\n    z = value + y\n    g(x=value)\n    return obj.x + value\n"
    )


def test_typed_and_star_parameters_are_renamed() -> None:
    assert renamed("python", "def f(|x: int = 1) -> int:\n    return x\n", "v") == (
        "def f(v: int = 1) -> int:\n    return v\n"
    )
    assert renamed("python", "def f(*|args, **kw):\n    return args, kw\n", "rest") == (
        "def f(*rest, **kw):\n    return rest, kw\n"
    )
    assert renamed("python", "def f(a, **|kw):\n    return kw\n", "opts") == (
        "def f(a, **opts):\n    return opts\n"
    )


def test_a_nested_function_that_binds_the_name_again_is_left_alone() -> None:
    marked = (
        "def f(|x):\n"
        "    def rebinds():\n"
        "        x = 2\n"
        "        return x\n"
        "    def reads():\n"
        "        return x\n"
        "    return rebinds() + reads() + x\n"
    )
    assert renamed("python", marked, "v") == (
        "def f(v):\n"
        "    def rebinds():\n"
        "        x = 2\n"
        "        return x\n"
        "    def reads():\n"
        "        return v\n"
        "    return rebinds() + reads() + v\n"
    )


def test_a_lambda_parameter_shadows_and_a_lambda_body_reads() -> None:
    marked = "def f(|x):\n    g = lambda x: x\n    h = lambda: x\n    return g(x), h()\n"
    assert renamed("python", marked, "v") == (
        "def f(v):\n    g = lambda x: x\n    h = lambda: v\n    return g(v), h()\n"
    )


def test_a_comprehension_variable_shadows_the_name() -> None:
    assert renamed(
        "python", "def f(|x):\n    ys = [x for x in range(3)]\n    return ys, x\n", "v"
    ) == ("def f(v):\n    ys = [x for x in range(3)]\n    return ys, v\n")
    assert renamed(
        "python", "def f(|x):\n    ys = [x + i for i in range(3)]\n    return ys\n", "v"
    ) == ("def f(v):\n    ys = [v + i for i in range(3)]\n    return ys\n")


def test_a_comprehensions_first_iterable_is_read_in_the_scope_around_it() -> None:
    assert renamed("python", "def f(|x):\n    return [x for x in x], x\n", "v") == (
        "def f(v):\n    return [x for x in v], v\n"
    )


def test_a_default_value_is_read_in_the_scope_around_the_function() -> None:
    marked = "def f(|value):\n    g = lambda value=value: value * 2\n    return g, value\n"
    assert renamed("python", marked, "v") == (
        "def f(v):\n    g = lambda value=v: value * 2\n    return g, v\n"
    )


def test_class_body_names_are_not_seen_from_its_methods() -> None:
    marked = "class C:\n    |x = 1\n    y = x + 1\n    def m(self):\n        return x\n"
    assert renamed("python", marked, "z") == (
        "class C:\n    z = 1\n    y = z + 1\n    def m(self):\n        return x\n"
    )


def test_a_module_name_is_seen_from_methods() -> None:
    marked = "|x = 1\nclass K:\n    def m(self):\n        return x\n"
    assert renamed("python", marked, "z") == (
        "z = 1\nclass K:\n    def m(self):\n        return z\n"
    )


def test_a_function_binding_the_name_in_a_module_is_left_alone() -> None:
    marked = "|x = 1\ndef f():\n    x = 2\n    return x\ndef g():\n    return x\n"
    assert renamed("python", marked, "z") == (
        "z = 1\ndef f():\n    x = 2\n    return x\ndef g():\n    return z\n"
    )


def test_a_function_declaring_the_module_name_global_is_renamed_with_it() -> None:
    marked = "|x = 1\ndef f():\n    global x\n    x = 2\ndef g():\n    return x\n"
    assert renamed("python", marked, "z") == (
        "z = 1\ndef f():\n    global z\n    z = 2\ndef g():\n    return z\n"
    )


def test_a_global_in_a_nested_function_is_not_the_enclosing_functions_name() -> None:
    marked = "def f():\n    |x = 1\n    def g():\n        global x\n        x = 2\n    return x\n"
    assert renamed("python", marked, "z") == (
        "def f():\n    z = 1\n    def g():\n        global x\n        x = 2\n    return z\n"
    )


def test_a_binding_of_a_name_declared_global_is_not_followed() -> None:
    assert renamed("python", "def f():\n    global x\n    |x = 1\n    return x\n", "z") is None


def test_a_nonlocal_name_is_renamed_in_the_nested_function() -> None:
    marked = (
        "def f():\n    |x = 1\n    def g():\n        nonlocal x\n        x += 1\n    return x\n"
    )
    assert renamed("python", marked, "z") == (
        "def f():\n    z = 1\n    def g():\n        nonlocal z\n        z += 1\n    return z\n"
    )


def test_a_rename_at_a_use_is_not_followed() -> None:
    assert renamed("python", "def f():\n    x = 1\n    return |x + x\n", "z") is None


def test_a_new_name_already_used_in_the_scope_gives_no_proposal() -> None:
    assert renamed("python", "def f(|x, y):\n    return x + y\n", "y") is None
    assert renamed("python", "def f(|x):\n    y = 2\n    return x\n", "y") is None


def test_a_function_renamed_at_its_def_is_renamed_at_its_calls() -> None:
    marked = "def |helper():\n    return 1\n\nprint(helper())\nhelper()\nobj.helper()\n"
    assert renamed("python", marked, "aid") == (
        "def aid():\n    return 1\n\nprint(aid())\naid()\nobj.helper()\n"
    )


def test_f_string_references_are_renamed_but_strings_and_comments_are_not() -> None:
    marked = "def f(|name):\n    # name here\n    return f\"hi {name}!\" + 'name'\n"
    assert renamed("python", marked, "who") == (
        "def f(who):\n    # name here\n    return f\"hi {who}!\" + 'name'\n"
    )


def test_other_bindings_walrus_except_with_for_and_import_alias() -> None:
    assert renamed(
        "python", "def f(data):\n    if (|n := len(data)) > 3:\n        return n\n", "size"
    ) == ("def f(data):\n    if (size := len(data)) > 3:\n        return size\n")
    assert renamed(
        "python",
        "def f():\n    try:\n        pass\n    except OSError as |err:\n        print(err)\n",
        "e",
    ) == ("def f():\n    try:\n        pass\n    except OSError as e:\n        print(e)\n")
    assert renamed(
        "python", "def f():\n    with open('a') as |fh:\n        return fh.read()\n", "stream"
    ) == ("def f():\n    with open('a') as stream:\n        return stream.read()\n")
    assert renamed(
        "python", "def f(pairs):\n    for |a, b in pairs:\n        print(a, b)\n", "k"
    ) == ("def f(pairs):\n    for k, b in pairs:\n        print(k, b)\n")
    assert renamed("python", "import numpy as |np\nnp.zeros(3)\n", "npy") == (
        "import numpy as npy\nnpy.zeros(3)\n"
    )


def test_an_import_name_without_alias_is_not_followed() -> None:
    assert renamed("python", "from os import |path\npath.join('a')\n", "p") is None


def test_a_binding_without_other_uses_gives_no_proposal() -> None:
    assert renamed("python", "def f():\n    |unused = 1\n    return 2\n", "spare") is None


# --- other languages, conservatively ----------------------------------------------------------


def test_javascript_local_renamed_but_not_member_names() -> None:
    marked = (
        "function f(items) {\n"
        "  const |total = items.length;\n"
        "  console.log(total, this.total, items.total);\n"
        "  return {total: total};\n"
        "}\n"
    )
    assert renamed("javascript", marked, "n") == (
        "function f(items) {\n"
        "  const n = items.length;\n"
        "  console.log(n, this.total, items.total);\n"
        "  return {total: n};\n"
        "}\n"
    )


def test_javascript_arrow_function_parameter_and_local() -> None:
    marked = (
        "const f = (|items) => {\n  let n = 0;\n  for (const x of items) { n += x; }\n"
        "  return n;\n};\n"
    )
    assert renamed("javascript", marked, "xs") == (
        "const f = (xs) => {\n  let n = 0;\n  for (const x of xs) { n += x; }\n  return n;\n};\n"
    )


def test_javascript_second_declaration_of_the_old_name_gives_no_proposal() -> None:
    marked = "function f(a) {\n  let |count = 0;\n  if (a) { let count = 2; }\n  return count;\n}\n"
    assert renamed("javascript", marked, "n") is None


def test_javascript_shorthand_property_gives_no_proposal() -> None:
    marked = "function f(a) {\n  let |count = a;\n  return {count};\n}\n"
    assert renamed("javascript", marked, "n") is None


def test_javascript_top_level_binding_gives_no_proposal() -> None:
    assert renamed("javascript", "let |top = 1;\nconsole.log(top);\n", "n") is None


def test_java_local_renamed_but_not_fields_or_methods() -> None:
    marked = (
        "class A {\n"
        "  int count;\n"
        "  int f(int a) {\n"
        "    int |count = a;\n"
        "    this.count = count + 1;\n"
        "    return this.count(count);\n"
        "  }\n"
        "}\n"
    )
    assert renamed("java", marked, "n") == (
        "class A {\n"
        "  int count;\n"
        "  int f(int a) {\n"
        "    int n = a;\n"
        "    this.count = n + 1;\n"
        "    return this.count(n);\n"
        "  }\n"
        "}\n"
    )


def test_java_parameter_renamed() -> None:
    marked = "class A {\n  int f(int |a) {\n    int b = a * 2;\n    return b + a;\n  }\n}\n"
    assert renamed("java", marked, "n") == (
        "class A {\n  int f(int n) {\n    int b = n * 2;\n    return b + n;\n  }\n}\n"
    )


def test_java_second_declaration_of_the_old_name_gives_no_proposal() -> None:
    marked = (
        "class A {\n"
        "  int f(int a) {\n"
        "    int |count = a;\n"
        "    for (int count = 0; count < 3; count++) {}\n"
        "    return count;\n"
        "  }\n"
        "}\n"
    )
    assert renamed("java", marked, "n") is None


# --- a long document, parsed in a window ------------------------------------------------------

FILLER = "".join(f"def filler_{i}(a):\n    return a + {i}\n\n\n" for i in range(1500))


def test_a_function_inside_the_parsed_window_of_a_long_document() -> None:
    assert FILLER.count("\n") * 2 > WINDOW_MIN_LINES
    marked = FILLER + "def target(|value):\n    doubled = value * 2\n    return value + doubled\n"
    result = renamed("python", marked + FILLER, "amount")
    assert result == (
        FILLER
        + "def target(amount):\n    doubled = amount * 2\n    return amount + doubled\n"
        + FILLER
    )


def test_a_module_level_rename_in_a_long_document_gives_no_proposal() -> None:
    marked = FILLER + "|VALUE = 3\nprint(VALUE)\n" + FILLER
    assert renamed("python", marked, "AMOUNT") is None


def test_offsets_after_non_ascii_text_are_code_points() -> None:
    marked = "def f(|x):\n    s = 'é😀'\n    return x + s, x\n"
    assert renamed("python", marked, "v") == "def f(v):\n    s = 'é😀'\n    return v + s, v\n"
    assert renamed("python", "def f(|größe):\n    return größe * 2\n", "maß") == (
        "def f(maß):\n    return maß * 2\n"
    )
