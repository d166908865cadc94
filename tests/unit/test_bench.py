"""The replay benchmark's parts: the simulated person, the accept rule, the figures."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import sysconfig
from pathlib import Path

import pytest

from ghostwright.cli import build_parser
from ghostwright_lab.bench.bench import (
    CONTEXT_SWEEP_LINES,
    BenchOptions,
    _sweep_variants,
    _Variant,
    choose_traces,
    device_of,
    summarize,
    utf16_position,
)
from ghostwright_lab.bench.naive import WINDOW_CHARS, NaiveResult, naive_prompt, replay_naive_trace
from ghostwright_lab.bench.replay import (
    DEBOUNCE_S,
    ContenderRun,
    LiveEditor,
    LiveRequest,
    RequestOutcome,
)
from ghostwright_lab.bench.typing_trace import (
    Keystroke,
    Trace,
    TraceCursor,
    TypingStyle,
    accepted_part,
    cut_region,
    replay,
    resize_document,
    trace_file,
    type_region,
)

SOURCE = (
    "import os\n"
    "\n"
    "\n"
    "def walk(top):\n"
    '    """Yield every file under top."""\n'
    "    for root, dirs, files in os.walk(top):\n"
    "        for name in files:\n"
    "            yield os.path.join(root, name)\n"
    "\n"
    "\n"
    "def count(top):\n"
    "    return sum(1 for _ in walk(top))\n"
)
SLOPPY = TypingStyle(typo_rate=0.5)
"""A person who mistypes every other letter: corrections everywhere."""


def make_trace(first_line: int = 3, line_count: int = 5, seed: int = 1) -> Trace:
    region = cut_region(Path("walk.py"), SOURCE, first_line, line_count)
    return Trace(region, type_region(region.text, random.Random(seed), SLOPPY))


# -- the simulated person -----------------------------------------------------------------------


def test_cut_region_leaves_an_empty_cursor_line_and_the_rest_of_the_file() -> None:
    region = cut_region(Path("walk.py"), SOURCE, 3, 5)
    assert region.text.startswith("def walk(top):\n")
    assert region.text.endswith("yield os.path.join(root, name)")
    assert region.document[: region.offset] + region.text + region.document[region.offset :] == (
        SOURCE
    )
    assert region.document[region.offset :].startswith("\n\n\ndef count")


def test_cut_region_outside_the_file_is_an_error() -> None:
    with pytest.raises(ValueError):
        cut_region(Path("walk.py"), SOURCE, 10, 5)


def test_replaying_every_key_reproduces_the_region_corrections_included() -> None:
    trace = make_trace()
    assert trace.corrections > 3
    assert replay(trace.keys) == trace.region.text
    assert any(key.delete for key in trace.keys)


def test_each_step_types_its_slice_of_the_region() -> None:
    trace = make_trace()
    text = trace.region.text
    position = 0
    for step in trace.steps:
        assert step.start == position
        assert replay(step.keys) == text[step.start : step.end]
        position = step.end
    assert position == len(text)


def test_the_same_seed_gives_the_same_trace_and_another_seed_another() -> None:
    assert make_trace(seed=7) == make_trace(seed=7)
    assert make_trace(seed=7).keys != make_trace(seed=8).keys


def test_gaps_are_positive_and_line_starts_pause_longer() -> None:
    text = "x = compute(alpha, beta)\n" * 60
    steps = type_region(text, random.Random(3))
    gaps = [key.gap_s for step in steps for key in step.keys]
    assert all(gap > 0 for gap in gaps)
    after_newline = [
        steps[index + 1].keys[0].gap_s
        for index, step in enumerate(steps[:-1])
        if text[step.start] == "\n"
    ]
    within_line = [step.keys[0].gap_s for step in steps if text[step.start] not in "x\n"]
    median = sorted(within_line)[len(within_line) // 2]
    assert 0.08 < median < 0.2
    assert sorted(after_newline)[len(after_newline) // 2] > 2 * median


def test_people_pause_before_enter_too() -> None:
    text = "x = compute(alpha, beta)\n" * 60
    steps = type_region(text, random.Random(5), TypingStyle(typo_rate=0.0))
    enters = [step.keys[0].gap_s for step in steps if text[step.start] == "\n"]
    within = [step.keys[0].gap_s for step in steps if text[step.start] not in "x\n"]
    assert sorted(enters)[len(enters) // 2] > 1.5 * sorted(within)[len(within) // 2]


def test_enter_inserts_the_next_lines_indentation_at_once() -> None:
    text = "    if ready:\n        go()\n\n    done()"
    steps = type_region(text, random.Random(0), TypingStyle(typo_rate=0.0))
    inserts = [key.insert for step in steps for key in step.keys]
    assert inserts[0] == "    "  # the region's own first indentation
    assert "\n        " in inserts
    assert "\n" in inserts  # the blank line has no indentation
    assert "\n    " in inserts
    assert inserts.count(" ") == 1  # only the space inside `if ready` is typed by hand


def test_trace_file_picks_a_function_of_a_real_file(tmp_path: Path) -> None:
    path = tmp_path / "walk.py"
    path.write_text(SOURCE, encoding="utf-8")
    trace = trace_file(path, 4, seed=0)
    assert trace is not None and trace == trace_file(path, 4, seed=0)
    assert trace.region.text.startswith("def ")
    assert replay(trace.keys) == trace.region.text
    assert trace_file(path, 40, seed=0) is None  # no function has 40 lines after it


def _real_trace(lines: int) -> Trace:
    path = Path(sysconfig.get_paths()["stdlib"]) / "textwrap.py"
    trace = trace_file(path, lines, seed=0)
    assert trace is not None
    return trace


def _line_before(region_document: str, offset: int) -> str:
    return region_document[:offset].rstrip("\n").rsplit("\n", 1)[-1]


@pytest.mark.parametrize("target", [40, 200, 2000, 20000])
def test_resize_document_changes_only_the_size(target: int) -> None:
    """Same typing, same region, same line above the cursor; the document has about `target`
    lines, shrunk around the region or grown with real code after the file."""
    trace = _real_trace(6)
    filler = sorted((Path(sysconfig.get_paths()["stdlib"])).glob("*.py"))
    resized = resize_document(trace, target, filler)
    region, original = resized.region, trace.region
    assert resized.steps == trace.steps and region.text == original.text
    assert _line_before(region.document, region.offset) == _line_before(
        original.document, original.offset
    )
    total = region.document.count("\n") + region.text.count("\n") + 1
    assert abs(total - target) <= max(2, target // 100)
    if target > original.document.count("\n"):
        assert region.document.startswith(original.document.rstrip("\n"))


# -- the accept rule ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suggestion", "remaining", "accepted"),
    [
        ("os.walk(top)", "os.walk(top):\n    pass", "os.walk(top)"),
        ("a\n    b", "a\n    b\n", "a\n    b"),
        ("walk(top):\n    return 1", "walk(top):\n    yield 2", "walk(top):"),
        ("walk(bottom)", "walk(top)", ""),
        (")", ")\n", ""),  # one character: the accept key would save nothing
        ("   ", "   x", ""),  # blank
        ("", "anything", ""),
    ],
)
def test_accepted_part(suggestion: str, remaining: str, accepted: str) -> None:
    assert accepted_part(suggestion, remaining) == accepted


def test_cursor_without_accepts_yields_every_key() -> None:
    trace = make_trace()
    cursor = TraceCursor(trace)
    keys = []
    while cursor.peek() is not None:
        keys.append(cursor.advance())
    assert tuple(keys) == trace.keys
    assert cursor.remaining == ""


def test_cursor_accept_skips_the_keys_of_the_accepted_text() -> None:
    trace = make_trace(seed=2)
    cursor = TraceCursor(trace)
    typed = ""
    while cursor.offset < 4 or not cursor.clean:
        typed += cursor.advance().insert
    start = cursor.offset
    accepted = accepted_part(cursor.remaining[:20], cursor.remaining)
    cursor.accept(len(accepted))
    assert cursor.clean and cursor.offset == start + 20
    rest = []
    while cursor.peek() is not None:
        rest.append(cursor.advance())
    text = trace.region.text
    assert replay([Keystroke(0.1, text[:start]), Keystroke(0.1, accepted), *rest]) == text


def test_cursor_accept_ending_inside_indentation_types_the_rest_of_it() -> None:
    region = cut_region(Path("walk.py"), SOURCE, 3, 5)
    cursor = TraceCursor(Trace(region, type_region(region.text, random.Random(0), TypingStyle())))
    newline = region.text.index("\n")
    while cursor.offset < newline:
        cursor.advance()
    cursor.accept(3)  # "\n" and two of the four spaces of indentation
    rest = cursor.advance()
    assert rest.insert == "  "
    assert cursor.offset == newline + 5


def test_cursor_accept_to_the_end_finishes_the_trace() -> None:
    trace = make_trace()
    cursor = TraceCursor(trace)
    cursor.accept(len(trace.region.text))
    assert cursor.peek() is None


def test_cursor_refuses_an_accept_in_the_middle_of_a_correction() -> None:
    trace = make_trace()
    correction = next(step for step in trace.steps if any(key.delete for key in step.keys))
    cursor = TraceCursor(trace)
    while cursor.offset < correction.start:
        cursor.advance()
    assert cursor.clean
    cursor.advance()  # the mistyped key
    assert not cursor.clean
    with pytest.raises(ValueError):
        cursor.accept(2)


# -- the naive replay ---------------------------------------------------------------------------


class OracleCompleter:
    """Suggests what the author wrote next, after a fixed latency, and records the prompts."""

    def __init__(self, trace: Trace, latency_ms: float, chars: int = 12) -> None:
        region = trace.region
        self.head = region.document[: region.offset]
        self.text = region.text
        self.original = self.head + region.text + region.document[region.offset :]
        self.latency_ms = latency_ms
        self.chars = chars
        self.prompts: list[str] = []
        self.suffixes: list[str] = []

    def __call__(self, prefix: str, suffix: str) -> NaiveResult:
        self.prompts.append(prefix)
        self.suffixes.append(suffix)
        right = self.original.startswith(prefix)
        following = self.original[len(prefix) : len(prefix) + self.chars] if right else "zzz"
        return NaiveResult(following, self.latency_ms, self.latency_ms / 2, 100, 40)


def test_naive_replay_accepts_right_suggestions_that_arrive_in_time() -> None:
    trace = make_trace()
    oracle = OracleCompleter(trace, latency_ms=5.0)
    outcomes, accepts = replay_naive_trace(oracle, trace, speed=1.0)
    assert accepts and sum(accepts) > len(trace.region.text) / 3
    assert all(prompt.startswith(oracle.head) for prompt in oracle.prompts)
    assert oracle.prompts[-1] == oracle.head + trace.region.text  # the request after the end
    # a FIM model's naive path sees the rest of the document after the cursor
    assert set(oracle.suffixes) == {trace.region.document[trace.region.offset :]}
    assert any(outcome.shown for outcome in outcomes)
    shown_latency = next(o.latency_ms for o in outcomes if o.shown)
    assert shown_latency is not None and shown_latency >= DEBOUNCE_S * 1000.0 + 5.0 - 1e-6
    assert {outcome.reused_tokens for outcome in outcomes} == {60}
    assert {outcome.source for outcome in outcomes} == {"model"}
    assert {outcome.overhead_ms for outcome in outcomes} == {2.5}  # call time - model time
    # nothing blocked the editor: it asked after its debounce, and the answer took the call
    assert all(o.asked_ms == pytest.approx(DEBOUNCE_S * 1000.0) for o in outcomes)
    assert all(o.after_request_ms == pytest.approx(5.0) for o in outcomes if o.shown)


def test_naive_replay_drops_results_that_arrive_after_the_next_key() -> None:
    trace = make_trace()
    oracle = OracleCompleter(trace, latency_ms=8000.0)
    outcomes, accepts = replay_naive_trace(oracle, trace, speed=1.0)
    assert accepts == []
    assert [outcome.shown for outcome in outcomes[:-1]] == [False] * (len(outcomes) - 1)
    assert outcomes[-1].shown  # after the last key nothing can come in between
    assert all(o.latency_ms is not None and o.latency_ms > 8000.0 for o in outcomes)
    # from the editor's request on, each answer took the call alone; the editor asked late
    assert all(o.after_request_ms == pytest.approx(8000.0) for o in outcomes)
    assert max(o.asked_ms or 0.0 for o in outcomes) > DEBOUNCE_S * 1000.0
    # the blocking call holds the editor: far fewer requests than debounce pauses
    assert len(outcomes) < trace.duration_s / 8.0 + 2


# -- the editor in front of an asynchronous contender ------------------------------------------


class OracleEditor(LiveEditor):
    """A contender that answers what the author wrote next after `latency_s`, or nothing."""

    def __init__(self, trace: Trace, speed: float, latency_s: float, right: bool = True) -> None:
        super().__init__(trace, speed)
        region = trace.region
        self.original = (
            region.document[: region.offset] + region.text + region.document[region.offset :]
        )
        self.latency_s = latency_s
        self.right = right
        self.events: list[tuple[str, int, str]] = []

    def opened(self) -> None:
        self.events.append(("open", 0, ""))

    def changed(self, before: str, delete: int, insert: str) -> None:
        self.events.append(("change", delete, insert))

    def closed(self) -> None:
        self.events.append(("close", 0, ""))

    async def fetch(self, request: LiveRequest) -> None:
        await asyncio.sleep(self.latency_s)
        following = self.original[len(request.prefix) : len(request.prefix) + 12]
        if self.original.startswith(request.prefix) and following and self.right:
            request.text = following
        request.completed = True


async def test_live_editor_accepts_right_answers_and_cancels_superseded_ones() -> None:
    trace = make_trace()
    editor = OracleEditor(trace, speed=8.0, latency_s=0.002)
    await editor.write_region()
    assert editor.events[0][0] == "open" and editor.events[-1][0] == "close"
    assert editor.accepts and sum(editor.accepts) > len(trace.region.text) / 4
    assert editor.before.endswith(trace.region.text)
    assert all(request.answered_s is not None for request in editor.requests)
    shown = [request for request in editor.requests if request.shown]
    assert shown and all(request.text for request in shown)
    assert all(r.sent_s >= r.last_key_s + DEBOUNCE_S / 8.0 - 1e-3 for r in editor.requests)


async def test_live_editor_cancels_a_request_when_the_next_key_comes() -> None:
    trace = make_trace()
    editor = OracleEditor(trace, speed=16.0, latency_s=1.0)
    await asyncio.wait_for(editor.write_region(), 60)
    assert editor.accepts == []
    *typed_over, last = editor.requests
    assert typed_over and all(request.cancelled for request in typed_over)
    assert not any(request.completed or request.shown for request in typed_over)
    assert last.completed and last.shown  # after the last key the person waits
    changes = [event for event in editor.events if event[0] == "change"]
    assert len(changes) == len(trace.keys)


# -- figures ------------------------------------------------------------------------------------


def test_summary_of_canned_outcomes() -> None:
    outcomes = (
        RequestOutcome(100.0, True, source="model", model_ms=60.0, overhead_ms=10.0,
                       prompt_tokens=200, reused_tokens=150),
        RequestOutcome(200.0, False, cancelled=True, source="cache", overhead_ms=1.0),
        RequestOutcome(None, False, cancelled=True),
        RequestOutcome(300.0, True, source="model", model_ms=80.0, overhead_ms=20.0,
                       server_overhead_ms=2.0, prompt_tokens=300, reused_tokens=290),
        RequestOutcome(None, False, error="boom"),
        RequestOutcome(1000.0, True, source="model", model_ms=900.0, overhead_ms=30.0,
                       prompt_tokens=100, reused_tokens=0),
        RequestOutcome(50.0, True, source="cache", overhead_ms=1.0),
        RequestOutcome(60.0, True, source="in-flight"),
        RequestOutcome(None, False),  # the gate, or a model run with nothing to show
    )  # fmt: skip
    run = ContenderRun(
        "x", outcomes, (10, 5), typed_chars=300, wall_s=12.0, peak_rss_kib=2048, gated=1
    )
    summary = summarize(run)
    assert (summary.requests, summary.cancelled, summary.errors) == (9, 2, 1)
    assert (summary.answered, summary.suggestions, summary.shown, summary.accepts) == (6, 6, 5, 2)
    assert summary.latency_p50_ms == pytest.approx(150.0)
    assert summary.model_answer_p50_ms == pytest.approx(300.0)
    assert summary.model_p50_ms == pytest.approx(80.0)
    assert summary.overhead_p50_ms == pytest.approx(10.0)
    assert summary.server_overhead_p50_ms == pytest.approx(2.0)
    assert summary.prompt_tokens_mean == pytest.approx(200.0)
    assert summary.evaluated_tokens_mean == pytest.approx(160 / 3)
    assert summary.evaluated_share == pytest.approx(160 / 600)
    # answered without the model: the cache and in-flight answers, and the gated request
    assert summary.without_model == 3 and summary.without_model_share == pytest.approx(0.5)
    assert summary.saved_per_100 == pytest.approx(5.0)
    assert summary.peak_rss_mib == pytest.approx(2.0)
    assert dict(summary.sources) == {"cache": 2, "in-flight": 1, "model": 3}
    # Runs reported apart from the answers (Ghostwright's generation lines) are the token figures.
    logged = summarize(dataclasses.replace(run, model_runs=((1000, 999), (1000, 990), (500, 0))))
    assert logged.prompt_tokens_mean == pytest.approx(2500 / 3)
    assert logged.evaluated_tokens_mean == pytest.approx(511 / 3)
    assert logged.evaluated_share == pytest.approx(511 / 2500)
    # The empty answer came from a generation it joined, whose suggestion the predictor hid.
    joined = summarize(dataclasses.replace(run, joined_unshown=1))
    assert joined.without_model == 4 and joined.without_model_share == pytest.approx(4 / 6)


def test_summary_of_nothing_has_no_figures() -> None:
    summary = summarize(ContenderRun("x", (), (), typed_chars=0, wall_s=0.0, peak_rss_kib=None))
    assert summary.latency_p50_ms is None and summary.model_p50_ms is None
    assert summary.without_model_share is None and summary.evaluated_share is None
    assert summary.saved_per_100 == 0.0 and summary.peak_rss_mib is None


# -- positions, traces, report ------------------------------------------------------------------


def test_utf16_position_counts_code_units() -> None:
    assert (utf16_position("").line, utf16_position("").character) == (0, 0)
    position = utf16_position("a\nx = '\U0001f600é")
    assert (position.line, position.character) == (1, 8)  # the emoji is two units


def test_choose_traces_takes_files_of_each_size_deterministically() -> None:
    traces = choose_traces(3, 5, seed=4)
    assert traces == choose_traces(3, 5, seed=4)
    sizes = sorted(len(trace.region.document.splitlines()) for trace in traces)
    assert sizes[0] < 300 <= sizes[1] < 1000 <= sizes[2]
    for trace in traces:
        assert replay(trace.keys) == trace.region.text
        assert trace.region.line_count == 5


def test_command_repeats_the_run() -> None:
    options = BenchOptions(
        files=2, lines=7, seed=3, speed=2.5, naive=False, out=Path("x/y"), sizes=(200, 400),
        contexts=(64,), repeat=4, stock=False,
    )  # fmt: skip
    args = build_parser().parse_args(options.command().split()[1:])
    assert (args.files, args.lines, args.seed, args.speed, args.repeat) == (2, 7, 3, 2.5, 4)
    assert args.no_naive and args.no_stock and args.out == "x/y"
    assert (args.sizes, args.contexts) == ((200, 400), (64,)) and args.model is None
    # Without sweeps, on a named model: the command line still parses back to the same run.
    options = dataclasses.replace(options, sizes=(), contexts=(), model="qwen2.5-coder-0.5b")
    args = build_parser().parse_args(options.command().split()[1:])
    assert (args.sizes, args.contexts, args.model) == ((), (), "qwen2.5-coder-0.5b")
    quick = dataclasses.replace(options, quick=True)
    assert quick.command().startswith("ghostwright bench --quick --model qwen2.5-coder-0.5b")


def test_bench_defaults_are_the_full_run_and_sweeps_can_be_skipped() -> None:
    args = build_parser().parse_args(["bench"])
    assert (args.files, args.lines, args.repeat) == (3, 4, 3)
    assert (args.sizes, args.contexts) == ((200, 2000, 20000), (256, 1024))
    assert args.out is None and not args.quick
    args = build_parser().parse_args(["bench", "--sizes", "none", "--contexts", ""])
    assert (args.sizes, args.contexts) == ((), ())
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bench", "--sizes", "0,200"])


def test_quick_runs_everything_once_on_a_small_trace() -> None:
    options = BenchOptions(
        files=5, lines=20, seed=1, speed=1.0, naive=False, out=Path("q"), stock=False, quick=True
    ).effective()
    assert (options.files, options.lines, options.repeat) == (1, 2, 1)
    assert options.naive and options.stock
    assert options.sizes and options.contexts
    assert options.command() == "ghostwright bench --quick --seed 1 --out q"


def test_sweep_variants_share_the_default_point() -> None:
    sizes = (20000, 200, CONTEXT_SWEEP_LINES)
    options = BenchOptions(
        files=1, lines=3, seed=0, speed=1.0, naive=True, out=Path("x"), sizes=sizes, contexts=(256,)
    )
    variants = _sweep_variants(options, default_prefix=1024)
    assert variants == [
        _Variant(200, 1024),
        _Variant(CONTEXT_SWEEP_LINES, 1024),
        _Variant(20000, 1024),
        _Variant(CONTEXT_SWEEP_LINES, 256),
    ]
    no_contexts = BenchOptions(files=1, lines=3, seed=0, speed=1.0, naive=True, out=Path("x"))
    assert _sweep_variants(no_contexts, default_prefix=1024) == []


def test_naive_prompt_is_a_window_of_the_text_before_the_cursor() -> None:
    text = "x" * (WINDOW_CHARS + 10) + "tail"
    assert naive_prompt(text) == text[-WINDOW_CHARS:] and naive_prompt("ab") == "ab"


@pytest.mark.parametrize(
    ("offload", "info", "device"),
    [
        (False, "CPU : SSE3 = 1 | AVX = 1 |", "CPU"),
        (True, "CUDA : ARCHS = 890 | USE_GRAPHS = 1 | CPU : SSE3 = 1 | AVX = 1 |", "CUDA"),
        (True, "Metal : EMBED_LIBRARY = 1 | CPU : NEON = 1 |", "Metal"),
        (True, "CPU : AVX = 1 |", "GPU"),
        (False, "CUDA : ARCHS = 890 | CPU : AVX = 1 |", "CPU"),  # built for CUDA, no device
    ],
)
def test_device_comes_from_llama_cpps_build(offload: bool, info: str, device: str) -> None:
    assert device_of(offload, info) == device
