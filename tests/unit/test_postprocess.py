"""Golden cases for the post-processing filters, one by one and chained by `clean_suggestion`.

Each case is data: the code before and after the cursor, what the model produced, and what should
be shown. The `Plan` and `Surroundings` are built the way the pipeline builds them. A case whose
`bug` is set documents a known defect of the filter: it is expected to fail (strictly), so that
fixing the filter turns it into an unexpected pass and the marker gets removed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest

from ghostwright.completion import postprocess
from ghostwright.completion.plan import plan_completion
from ghostwright.completion.postprocess import FILTERS, clean_suggestion, surroundings_of

FILTER_NAMES = (
    "limit_to_block",
    "cut_at_suffix_duplicate",
    "drop_repeated_lines",
    "trim_closing_overlap",
    "trim_echo_of_line_rest",
    "drop_trailing_blank_lines",
    "drop_blank",
)
LANGUAGES = ("python", "javascript", "typescript", "go", "rust", "java", "c")


@dataclass(frozen=True)
class Golden:
    name: str
    step: str
    """The filter under test, or "clean_suggestion" for the whole chain."""
    language: str
    before: str
    """The document text before the cursor."""
    after: str
    """The document text after the cursor."""
    raw: str
    """What the model generated."""
    expected: str
    """What should be shown ("" for nothing)."""
    max_lines: int = 4
    fill_in_middle: bool = False
    """The model fills in the middle: code after the cursor on its line does not stop it."""
    bug: str = ""
    """Non-empty when the case shows a known defect: the case then xfails strictly."""


GOLDEN: list[Golden] = [
    # --- limit_to_block -----------------------------------------------------------------------
    Golden(
        name="python_dedent_below_block_is_cut",
        step="limit_to_block",
        language="python",
        before="def sign(x):\n    if x > 0:\n        ",
        after="\n",
        raw="return 1\n    return -1\nprint(sign(2))",
        expected="return 1",
    ),
    Golden(
        name="python_blank_line_inside_block_kept",
        step="limit_to_block",
        language="python",
        before="def f():\n    ",
        after="\n",
        raw="a = 1\n\n    return a\nx = f()",
        expected="a = 1\n\n    return a",
    ),
    Golden(
        name="python_suggestion_starting_further_left_lowers_the_limit",
        step="limit_to_block",
        language="python",
        before="class A:\n    def f(self):\n        return 1\n",
        after="",
        raw="def g():\n    pass\n\ng()",
        expected="def g():\n    pass\n\ng()",
    ),
    Golden(
        name="javascript_closing_brace_of_enclosing_function_is_cut",
        step="limit_to_block",
        language="javascript",
        before="function area(r) {\n  ",
        after="\n}\n",
        raw="return Math.PI * r * r;\n}\n\nconsole.log(area(2));",
        expected="return Math.PI * r * r;",
    ),
    Golden(
        name="go_tab_indented_block",
        step="limit_to_block",
        language="go",
        before="func add(a, b int) int {\n\t",
        after="\n}\n",
        raw="sum := a + b\n\treturn sum\n}",
        expected="sum := a + b\n\treturn sum",
    ),
    Golden(
        name="rust_max_lines",
        step="limit_to_block",
        language="rust",
        before="fn main() {\n    ",
        after="\n}\n",
        raw="let a = 1;\n    let b = 2;\n    let c = 3;\n    let d = 4;",
        expected="let a = 1;\n    let b = 2;",
        max_lines=2,
    ),
    Golden(
        name="java_mid_line_is_single_line",
        step="limit_to_block",
        language="java",
        before="    System.out.println(",
        after=");\n",
        raw="total);\n    return total;",
        expected="total);",
    ),
    # --- cut_at_suffix_duplicate ----------------------------------------------------------------
    Golden(
        name="python_runs_on_into_the_next_line",
        step="cut_at_suffix_duplicate",
        language="python",
        before="def total(xs):\n    s = 0\n    ",
        after="\n    return s\n",
        raw="for x in xs:\n        s += x\n    return s",
        expected="for x in xs:\n        s += x",
    ),
    Golden(
        name="typescript_runs_on_into_the_next_line",
        step="cut_at_suffix_duplicate",
        language="typescript",
        before="function greet(name: string): string {\n  ",
        after="\n  return message;\n}\n",
        raw="const message = `Hello, ${name}`;\n  return message;\n}",
        expected="const message = `Hello, ${name}`;",
    ),
    Golden(
        name="c_whole_suggestion_is_the_next_line",
        step="cut_at_suffix_duplicate",
        language="c",
        before="int main(void) {\n    ",
        after="\n    return 0;\n}\n",
        raw="return 0;",
        expected="",
    ),
    Golden(
        name="python_partial_first_line_is_not_compared",
        step="cut_at_suffix_duplicate",
        language="python",
        before="def f(y):\n    x = ",
        after="\n    y\n",
        raw="y",
        expected="y",
    ),
    Golden(
        name="go_next_line_after_blank_lines",
        step="cut_at_suffix_duplicate",
        language="go",
        before="func main() {\n\t",
        after="\n\n\n\tfmt.Println(x)\n}\n",
        raw="x := 42\n\tfmt.Println(x)\n}",
        expected="x := 42",
    ),
    Golden(
        name="rust_nothing_below",
        step="cut_at_suffix_duplicate",
        language="rust",
        before="fn main() {\n    ",
        after="",
        raw='println!("hi");\n}',
        expected='println!("hi");\n}',
    ),
    Golden(
        name="javascript_nested_block_closer_matches_the_closer_below",
        step="cut_at_suffix_duplicate",
        language="javascript",
        before="function run(items) {\n  ",
        after="\n}\n",
        raw="for (const item of items) {\n    handle(item);\n  }\n}",
        expected="for (const item of items) {\n    handle(item);\n  }",
    ),
    Golden(
        name="python_deeper_indented_copy_of_the_line_below",
        step="cut_at_suffix_duplicate",
        language="python",
        before="def first(items):\n    ",
        after="\n    return None\n",
        raw="if not items:\n        return None\n    return None",
        expected="if not items:\n        return None",
    ),
    # --- drop_repeated_lines --------------------------------------------------------------------
    Golden(
        name="python_starts_by_repeating_the_line_above",
        step="drop_repeated_lines",
        language="python",
        before="def add(self, item):\n    self.items.append(item)\n    ",
        after="\n",
        raw="self.items.append(item)\n    return self",
        expected="",
    ),
    Golden(
        name="python_loop_inside_the_suggestion",
        step="drop_repeated_lines",
        language="python",
        before="def bump(self):\n    ",
        after="\n",
        raw="self.count += 1\n    self.count += 1\n    self.count += 1",
        expected="self.count += 1",
    ),
    Golden(
        name="c_long_repeat_is_cut",
        step="drop_repeated_lines",
        language="c",
        before="int main(void) {\n    int n = 0;\n    ",
        after="\n}\n",
        raw='printf("%d\\n", n);\n    printf("%d\\n", n);\n    return 0;',
        expected='printf("%d\\n", n);',
    ),
    Golden(
        name="c_short_closing_braces_repeat_legitimately",
        step="drop_repeated_lines",
        language="c",
        before="int f(int x) {\n    if (x) {\n        while (x--) {\n            g(x);\n        ",
        after="\n",
        raw="}\n    }\n    return x;",
        expected="}\n    }\n    return x;",
    ),
    Golden(
        name="javascript_short_callback_closers_repeat_legitimately",
        step="drop_repeated_lines",
        language="javascript",
        before="describe('x', () => {\n  it('y', () => {\n    expect(1).toBe(1);\n  ",
        after="\n",
        raw="});\n});",
        expected="});\n});",
    ),
    Golden(
        name="python_short_pass_repeats_legitimately",
        step="drop_repeated_lines",
        language="python",
        before="class A:\n    pass\n",
        after="\n",
        raw="pass\n\n\nclass B:\n    pass",
        expected="pass\n\n\nclass B:\n    pass",
    ),
    Golden(
        name="go_commented_out_copy_of_the_line_above_is_partial",
        step="drop_repeated_lines",
        language="go",
        before="func main() {\n\tfmt.Println(name)\n\t// ",
        after="\n}\n",
        raw="fmt.Println(name)",
        expected="fmt.Println(name)",
    ),
    Golden(
        name="python_repeat_of_the_completed_cursor_line",
        step="drop_repeated_lines",
        language="python",
        before="def f(a, b):\n    result = compute(",
        after="\n",
        raw="a, b)\n    result = compute(a, b)\n    return result",
        expected="a, b)",
    ),
    # --- trim_closing_overlap -------------------------------------------------------------------
    Golden(
        name="python_print_len_closes_twice",
        step="trim_closing_overlap",
        language="python",
        before="print(",
        after=")\n",
        raw="len(x))",
        expected="len(x)",
    ),
    Golden(
        name="python_arguments_without_closer_kept",
        step="trim_closing_overlap",
        language="python",
        before="foo(",
        after=")\n",
        raw="a, b",
        expected="a, b",
    ),
    Golden(
        name="javascript_balanced_call_ending_like_the_rest_kept",
        step="trim_closing_overlap",
        language="javascript",
        before="foo(",
        after=")\n",
        raw="bar()",
        expected="bar()",
    ),
    Golden(
        name="java_println_with_semicolon",
        step="trim_closing_overlap",
        language="java",
        before="        System.out.println(",
        after=");\n",
        raw="total);",
        expected="total",
    ),
    Golden(
        name="c_two_closers_and_semicolon",
        step="trim_closing_overlap",
        language="c",
        before='    printf("%d\\n", max(a, ',
        after="));\n",
        raw="b));",
        expected="b",
    ),
    Golden(
        name="rust_square_bracket",
        step="trim_closing_overlap",
        language="rust",
        before="    let v = vec![1, 2, ",
        after="];\n",
        raw="3];",
        expected="3",
    ),
    Golden(
        name="python_nothing_after_the_cursor_keeps_the_closer",
        step="trim_closing_overlap",
        language="python",
        before="x = (",
        after="",
        raw="1 + 2)",
        expected="1 + 2)",
    ),
    Golden(
        name="javascript_closer_before_the_rest_of_the_line",
        step="trim_closing_overlap",
        language="javascript",
        before="console.log(",
        after=");\n",
        raw="items.length)",
        expected="items.length",
    ),
    Golden(
        name="python_bracket_inside_a_string_literal",
        step="trim_closing_overlap",
        language="python",
        before="print(",
        after=")\n",
        raw='"(")',
        expected='"("',
    ),
    Golden(
        name="python_closing_quote_the_line_already_has",
        step="trim_closing_overlap",
        language="python",
        before='API_KEY = "',
        after='"\n',
        raw='abc123"',
        expected="abc123",
    ),
    Golden(
        name="javascript_quote_and_bracket_the_line_already_has",
        step="trim_closing_overlap",
        language="javascript",
        before="console.log('",
        after="');\n",
        raw="done')",
        expected="done",
    ),
    Golden(
        name="python_escaped_quote_inside_is_not_a_closer",
        step="trim_closing_overlap",
        language="python",
        before='s = "',
        after='"\n',
        raw='say \\"hi\\"',
        expected='say \\"hi\\"',
    ),
    # --- drop_trailing_blank_lines --------------------------------------------------------------
    Golden(
        name="python_trailing_newlines",
        step="drop_trailing_blank_lines",
        language="python",
        before="def f(x):\n    ",
        after="\n",
        raw="return x\n\n\n",
        expected="return x",
    ),
    Golden(
        name="go_trailing_whitespace_only_lines",
        step="drop_trailing_blank_lines",
        language="go",
        before="func main() {\n\t",
        after="\n}\n",
        raw="fmt.Println(x)   \n\t\n  ",
        expected="fmt.Println(x)",
    ),
    Golden(
        name="typescript_inner_blank_line_kept",
        step="drop_trailing_blank_lines",
        language="typescript",
        before="function f(): number {\n  ",
        after="\n}\n",
        raw="const a = 1;\n\n  return a;\n",
        expected="const a = 1;\n\n  return a;",
    ),
    Golden(
        name="java_only_blank_lines",
        step="drop_trailing_blank_lines",
        language="java",
        before="class A {\n    ",
        after="\n}\n",
        raw="\n\n   \n",
        expected="",
    ),
    # --- drop_blank -----------------------------------------------------------------------------
    Golden(
        name="python_empty",
        step="drop_blank",
        language="python",
        before="x = ",
        after="\n",
        raw="",
        expected="",
    ),
    Golden(
        name="rust_whitespace_only",
        step="drop_blank",
        language="rust",
        before="fn main() {\n    ",
        after="\n}\n",
        raw=" \t\n    \n",
        expected="",
    ),
    Golden(
        name="c_text_kept_as_is",
        step="drop_blank",
        language="c",
        before="int main(void) {\n    ",
        after="\n}\n",
        raw="  return 0;  ",
        expected="  return 0;  ",
    ),
    # --- clean_suggestion -----------------------------------------------------------------------
    Golden(
        name="python_loop_then_the_existing_return",
        step="clean_suggestion",
        language="python",
        before="def total(xs):\n    s = 0\n    ",
        after="\n    return s\n",
        raw="for x in xs:\n        s += x\n    return s\n\n",
        expected="for x in xs:\n        s += x",
    ),
    Golden(
        name="python_body_after_the_colon_then_existing_call",
        step="clean_suggestion",
        language="python",
        before="def area(r):",
        after="\n\nprint(area(2))\n",
        raw="\n    return 3.14 * r * r\n\nprint(area(2))",
        expected="\n    return 3.14 * r * r",
    ),
    Golden(
        name="python_dedent_below_the_block",
        step="clean_suggestion",
        language="python",
        before="def sign(x):\n    if x > 0:\n        ",
        after="\n",
        raw="return 1\n    return -1\n",
        expected="return 1",
    ),
    Golden(
        name="python_print_len_closes_twice_whole",
        step="clean_suggestion",
        language="python",
        before="    print(",
        after=")\n",
        raw="len(x))",
        expected="len(x)",
    ),
    Golden(
        name="python_foo_arguments_whole",
        step="clean_suggestion",
        language="python",
        before="foo(",
        after=")\n",
        raw="a, b",
        expected="a, b",
    ),
    Golden(
        name="python_repeats_the_line_above",
        step="clean_suggestion",
        language="python",
        before="def add(self, item):\n    self.items.append(item)\n    ",
        after="\n",
        raw="self.items.append(item)\n    self.items.append(item)\n",
        expected="",
    ),
    Golden(
        name="python_crlf_output_kept",
        step="clean_suggestion",
        language="python",
        before="def f():\n    ",
        after="\n",
        raw="a = 1\r\n    b = 2\r\n",
        expected="a = 1\n    b = 2",
    ),
    Golden(
        name="python_crlf_output_runs_into_the_next_line",
        step="clean_suggestion",
        language="python",
        before="def total(xs):\n    s = 0\n    ",
        after="\r\n    return s\r\n",
        raw="s = sum(xs)\r\n    return s\r\n",
        expected="s = sum(xs)",
    ),
    Golden(
        name="python_whitespace_only_output",
        step="clean_suggestion",
        language="python",
        before="def f():\n    ",
        after="\n",
        raw="  \n\t\n   ",
        expected="",
    ),
    Golden(
        name="python_crlf_only_output",
        step="clean_suggestion",
        language="python",
        before="def f():\n    ",
        after="\n",
        raw="\r\n\r\n",
        expected="",
    ),
    Golden(
        name="javascript_return_then_closing_brace",
        step="clean_suggestion",
        language="javascript",
        before="function area(r) {\n  ",
        after="\n}\n",
        raw="return Math.PI * r * r;\n}\n",
        expected="return Math.PI * r * r;",
    ),
    Golden(
        name="typescript_mid_line_call",
        step="clean_suggestion",
        language="typescript",
        before="const n: number = Math.max(",
        after=");\n",
        raw="a, b);",
        expected="a, b",
    ),
    Golden(
        name="go_loop_body_then_enclosing_closers",
        step="clean_suggestion",
        language="go",
        before="func main() {\n\tfor i := 0; i < 3; i++ {\n\t\t",
        after="\n\t}\n}\n",
        raw="fmt.Println(i)\n\t}\n}\n",
        expected="fmt.Println(i)",
    ),
    Golden(
        name="go_nested_loop_closer_matches_the_closer_below",
        step="clean_suggestion",
        language="go",
        before="func run(items []int) {\n\t",
        after="\n}\n",
        raw="for _, it := range items {\n\t\thandle(it)\n\t}\n}\n",
        expected="for _, it := range items {\n\t\thandle(it)\n\t}",
    ),
    Golden(
        name="rust_square_bracket_whole",
        step="clean_suggestion",
        language="rust",
        before="fn main() {\n    let v = vec![1, 2, ",
        after="];\n}\n",
        raw="3];",
        expected="3",
    ),
    Golden(
        name="rust_max_lines_whole",
        step="clean_suggestion",
        language="rust",
        before="fn main() {\n    ",
        after="\n}\n",
        raw="let a = 1;\n    let b = 2;\n    let c = 3;\n    let d = 4;\n}",
        expected="let a = 1;\n    let b = 2;\n    let c = 3;",
        max_lines=3,
    ),
    Golden(
        name="java_loop_then_the_existing_return",
        step="clean_suggestion",
        language="java",
        before="    public int sum(int[] xs) {\n        int s = 0;\n        ",
        after="\n        return s;\n    }\n",
        raw="for (int x : xs) {\n            s += x;\n        }\n        return s;\n    }",
        expected="for (int x : xs) {\n            s += x;\n        }",
    ),
    Golden(
        name="c_long_repeat_then_existing_return",
        step="clean_suggestion",
        language="c",
        before="int main(void) {\n    int n = 0;\n    ",
        after="\n    return 0;\n}\n",
        raw='printf("%d\\n", n);\n    printf("%d\\n", n);\n    return 0;\n}',
        expected='printf("%d\\n", n);',
    ),
    Golden(
        name="c_short_repeats_kept_until_the_existing_return",
        step="clean_suggestion",
        language="c",
        before="int main(void) {\n    int n = 0;\n    ",
        after="\n    return 0;\n}\n",
        raw="n++;\n    n++;\n    return 0;\n}",
        expected="n++;\n    n++;",
    ),
    # --- cut_at_suffix_duplicate: running into the code below ------------------------------
    Golden(
        name="python_gap_filled_then_a_blank_line_inside_the_block",
        step="cut_at_suffix_duplicate",
        language="python",
        before="def f(items):\n    total = 0\n    ",
        after="\n    return total\n",
        raw="for item in items:\n        total += item\n\n    print(total)",
        expected="for item in items:\n        total += item",
    ),
    Golden(
        name="python_second_line_below_written_again",
        step="cut_at_suffix_duplicate",
        language="python",
        before="def f(pool, i):\n    result = []\n    ",
        after="\n    i += 1\n    return tuple(result)\n",
        raw="result.append(pool[i])\n    return tuple(result)",
        expected="result.append(pool[i])",
    ),
    Golden(
        name="python_gap_fill_cut_at_a_near_echo_of_the_line_below",
        step="cut_at_suffix_duplicate",
        language="python",
        before="def permutation_index(element, iterable):\n    index = 0\n    ",
        after="\n    for i, x in zip(range(len(pool), -1, -1), element):\n        r = 0\n",
        raw="pool = list(iterable)\n    for i, x in enumerate(pool):\n        r = 0",
        expected="pool = list(iterable)",
    ),
    Golden(
        name="java_gap_fill_cut_at_a_near_echo_of_the_line_below",
        step="cut_at_suffix_duplicate",
        language="java",
        before="int sum(int[] a) {\n    int s = 0;\n    ",
        after="\n    for (int i = 0; i < a.length; i++) {\n        s += a[i];\n    }\n",
        raw="int n = a.length;\n    for (int i = 0; i < n; i++) {\n        s += a[i];",
        expected="int n = a.length;",
    ),
    Golden(
        name="python_gap_fill_line_unlike_the_line_below_kept",
        step="cut_at_suffix_duplicate",
        language="python",
        before="def f(items):\n    total = 0\n    ",
        after="\n    for item in items:\n        total += item\n",
        raw="items = list(items)\n    if not items:\n        return 0",
        expected="items = list(items)\n    if not items:\n        return 0",
    ),
    Golden(
        name="python_near_echo_deeper_than_the_line_below_kept",
        step="cut_at_suffix_duplicate",
        language="python",
        before="def f(rows):\n    ",
        after="\n    for row in rows:\n        print(row)\n",
        raw="if rows:\n        for row in sorted(rows):\n            pass",
        expected="if rows:\n        for row in sorted(rows):\n            pass",
    ),
    Golden(
        name="python_blank_lines_kept_at_the_end_of_the_file",
        step="cut_at_suffix_duplicate",
        language="python",
        before="import os\n\n",
        after="",
        raw="def main():\n    print(os.getcwd())\n\n\nmain()",
        expected="def main():\n    print(os.getcwd())\n\n\nmain()",
    ),
    # --- trim_echo_of_line_rest (mid-line, fill-in-the-middle models) ----------------------
    Golden(
        name="c_for_header_echoing_its_rest",
        step="trim_echo_of_line_rest",
        language="c",
        before="int sum(int *a, int n) {\n    int s = 0;\n    for (",
        after=") {\n        s += a[i];\n    }\n",
        raw="int i = 0; i < n; i++) {",
        expected="int i = 0; i < n; i++",
        fill_in_middle=True,
    ),
    Golden(
        name="java_condition_echoing_a_call_after_it",
        step="trim_echo_of_line_rest",
        language="java",
        before="class A {\n  void f(int[][] arry, int i) {\n    if (",
        after=") SWAP(arry, i);\n  }\n}\n",
        raw="arry[0][i] > arry[1][i]) SWAP(arry, i);",
        expected="arry[0][i] > arry[1][i]",
        fill_in_middle=True,
    ),
    Golden(
        name="python_argument_echoing_the_next_one_spaced_differently",
        step="trim_echo_of_line_rest",
        language="python",
        before="def f(items, start):\n    return sum(",
        after=", start)\n",
        raw="x * 2 for x in items ,start)",
        expected="x * 2 for x in items",
        fill_in_middle=True,
    ),
    Golden(
        name="python_echo_that_goes_its_own_way_is_cut_where_it_begins",
        step="trim_echo_of_line_rest",
        language="python",
        before="def f(iterable, key):\n    return flatten(g for _, g in groupby(",
        after=", key) for _ in g)\n",
        raw="iterable, key))",
        expected="iterable",
        fill_in_middle=True,
    ),
    Golden(
        name="go_inner_brackets_are_not_an_echo",
        step="trim_echo_of_line_rest",
        language="go",
        before="func f(xs []int) int {\n\treturn g(",
        after=") + 1\n}\n",
        raw="h(xs)",
        expected="h(xs)",
        fill_in_middle=True,
    ),
    Golden(
        name="typescript_fill_that_stops_before_the_rest",
        step="trim_echo_of_line_rest",
        language="typescript",
        before="function f(xs: number[]): number {\n  while (",
        after=") {\n    xs.pop();\n  }\n  return 0;\n}\n",
        raw="xs.length > 0",
        expected="xs.length > 0",
        fill_in_middle=True,
    ),
    Golden(
        name="rust_midline_fill_of_an_if_condition",
        step="clean_suggestion",
        language="rust",
        before="fn f(v: &Vec<i32>) -> i32 {\n    if ",
        after=" {\n        return 1;\n    }\n    0\n}\n",
        raw="v.is_empty() {\n        return 1;",
        expected="v.is_empty()",
        fill_in_middle=True,
    ),
    Golden(
        name="javascript_midline_fill_keeps_its_own_call",
        step="clean_suggestion",
        language="javascript",
        before="function f(a) {\n  return Math.max(",
        after=", 0);\n}\n",
        raw="a.length - 1, 0);",
        expected="a.length - 1",
        fill_in_middle=True,
    ),
]


def _params(step: str | None = None) -> list[object]:
    chosen = [case for case in GOLDEN if step is None or case.step == step]
    return [
        pytest.param(
            case,
            id=f"{case.step}:{case.name}",
            marks=[pytest.mark.xfail(strict=True, reason=case.bug)] if case.bug else [],
        )
        for case in chosen
    ]


def _plan(case: Golden):
    return plan_completion(
        case.before, case.after, case.max_lines, fill_in_middle=case.fill_in_middle
    )


def _shown(case: Golden) -> str:
    plan = _plan(case)
    assert plan is not None, "the case's cursor must be a completable spot"
    around = surroundings_of(case.before, plan)
    if case.step == "clean_suggestion":
        return clean_suggestion(case.raw, around)
    return getattr(postprocess, case.step)(case.raw, around)


@pytest.mark.parametrize("case", _params())
def test_golden(case: Golden) -> None:
    assert _shown(case) == case.expected


# --- the golden set itself ----------------------------------------------------------------------


def test_golden_names_are_unique() -> None:
    counts = Counter((case.step, case.name) for case in GOLDEN)
    assert [key for key, n in counts.items() if n > 1] == []


def test_every_filter_and_the_chain_have_golden_cases() -> None:
    steps = Counter(case.step for case in GOLDEN)
    for step in (*FILTER_NAMES, "clean_suggestion"):
        assert steps[step] >= 3, step
    assert set(steps) == {*FILTER_NAMES, "clean_suggestion"}


def test_golden_cases_cover_the_languages() -> None:
    assert {case.language for case in GOLDEN} == set(LANGUAGES)
    chain = {case.language for case in GOLDEN if case.step == "clean_suggestion"}
    assert chain == set(LANGUAGES)


def test_the_chain_applies_every_named_filter() -> None:
    assert sorted(f.__name__ for f in FILTERS) == sorted(FILTER_NAMES)


# --- a few properties the golden cases rely on -------------------------------------------------


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=c.name) for c in GOLDEN if c.step == "clean_suggestion" and not c.bug],
)
def test_clean_suggestion_is_idempotent(case: Golden) -> None:
    """Cleaning what is shown again changes nothing: the filters leave no work for a second pass."""
    plan = _plan(case)
    assert plan is not None
    around = surroundings_of(case.before, plan)
    once = clean_suggestion(case.raw, around)
    assert clean_suggestion(once, around) == once
