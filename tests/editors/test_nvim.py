"""The Neovim plugin (`editors/nvim`) in a real Neovim 0.12 with the real server and model.

Each test runs a Lua scenario from `tests/editors/nvim/` in `nvim --headless --clean` with the
plugin first on 'runtimepath' and isolated XDG folders: it opens a copy of the example module
cut after `return sum(`, types in insert mode as a person would (the keys go through Neovim's
input, so the plugin's autocommands and key mappings run), waits for the ghost text, presses
the plugin's keys, and writes what it saw to JSON. The server's telemetry database is read back
afterwards: the decisions made with the keys must be recorded there. The next-edit tests rename
a variable in a small function and act on the edit the server proposes for its other use, with
the keys and the commands. The screenshot test drives Neovim as its UI (`nvim --embed`) and
draws the screen it gets to a PNG for the README.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.editors import nvim_session
from tests.editors.nvim_screen import EmbeddedNvim, render_png
from tests.editors.nvim_session import Event, Session

ARTIFACTS = REPO / "build" / "editor-artifacts"


def expected_word(text: str) -> str:
    """The plugin's accept-word part, written independently: up to and with the next word."""
    match = re.match(r"\n[ \t]*", text) or re.match(r"[^\w\n]*\w*", text)
    assert match is not None
    return match.group(0)


def expected_line(text: str) -> str:
    """The plugin's accept-line part: up to the first line break, or the line after one."""
    if text.startswith("\n"):
        return "\n" + text[1:].split("\n", 1)[0]
    return text.split("\n", 1)[0]


def events_of(session: Session, suggestion_id: str, count: int) -> list[Event]:
    """The events of one suggestion once there are `count`."""
    found = session.events(
        lambda events: len([e for e in events if e.suggestion_id == suggestion_id]) >= count
    )
    return [e for e in found if e.suggestion_id == suggestion_id]


def kinds(events: list[Event]) -> list[str]:
    return [event.kind for event in events]


PARTS = [
    # suggestion, its next word, its next line
    (".price * item.quantity)", ".price", ".price * item.quantity)"),
    (" * item.quantity", " * item", " * item.quantity"),
    ("items:\n        total += 1", "items", "items:"),
    ("\n        return total", "\n        ", "\n        return total"),
    (")", ")", ")"),
    ("prix_unitaire_été + 1", "prix_unitaire_été", "prix_unitaire_été + 1"),
]


def test_options_and_the_parts_of_a_partial_accept(tmp_path: Path) -> None:
    texts = [text for text, _, _ in PARTS]
    results = nvim_session.run(tmp_path, "options.lua", {"texts": texts}).check()
    assert results["merged"] == {
        "filetypes": ["lua"],
        "accept": "<C-y>",
        "next": False,
        "dismiss": "<C-]>",
        "settings": {"maxLines": 1},
        "renderer": "auto",
        "debounce_ms": 50,
        "next_edit": {
            "enabled": True,
            "debounce_ms": 150,
            "keymaps": {"jump": "<M-n>", "dismiss": False},
        },
    }
    invalid = results["invalid"]
    assert "option renderer must be 'auto', 'native' or 'extmark'" in invalid[0]
    assert "option debounce_ms must be a number >= 0" in invalid[1]
    assert "accept_all" in invalid[2] and "one of" in invalid[2]
    assert "option cmd must be a non-empty list or a function" in invalid[3]
    assert "option next_edit.enabled must be true or false" in invalid[4]
    assert "option next_edit.keymaps key must be one of" in invalid[5] and "apply" in invalid[5]
    assert [tuple(part) for part in results["parts"]] == [(w, line) for _, w, line in PARTS]
    for text, word, line in PARTS:
        assert (expected_word(text), expected_line(text)) == (word, line)


def test_accept_key_inserts_the_suggestion_and_runs_the_accept_command_once(
    tmp_path: Path, default_model_path: Path
) -> None:
    session = nvim_session.run(tmp_path, "accept.lua")
    results = session.check()
    assert results["renderer"] == "native" and results["native_enabled"], session.diagnostics()
    ghost = results["ghost"]
    assert ghost.strip(), session.diagnostics()
    decision = results["decision"]
    assert decision["action"] == "accept" and decision["inserted"] == ghost
    assert results["buffer"].endswith(results["line_before"] + ghost), session.diagnostics()
    lines = results["buffer"].split("\n")
    assert results["cursor"] == [len(lines), len(lines[-1].encode())]
    assert results["mode"] == "i"
    assert results["commands_sent"] == 1, "Neovim's own accept ran the command too"

    events = events_of(session, decision["id"], 2)
    assert kinds(events) == ["shown", "accepted"], session.diagnostics()
    assert events[1].data["how"] == "command"
    everything = session.events()
    assert kinds(everything).count("accepted") == 1, everything


def test_dismiss_key_records_a_dismissal_and_the_commands_work(
    tmp_path: Path, default_model_path: Path
) -> None:
    export = tmp_path / "export.jsonl"
    session = nvim_session.run(tmp_path / "nvim", "dismiss.lua", {"export": str(export)})
    results = session.check()
    assert results["line_after"] == results["line_before"], session.diagnostics()
    decision = results["decision"]
    assert decision["action"] == "dismiss" and decision["text"] == results["ghost"]
    events = events_of(session, decision["id"], 2)
    assert kinds(events) == ["shown", "rejected"], session.diagnostics()
    assert events[1].data["reason"] == "dismissed"

    status = "\n".join(results["status"])
    assert "suggestions on, renderer native" in status
    assert "running, model ready" in status and str(default_model_path) in status
    assert results["enabled_after_toggle"] is False
    assert results["enabled_after_second_toggle"] is True
    assert re.search(r"export to .* done", results["messages"]), session.diagnostics()
    exported = [json.loads(line) for line in export.read_text().splitlines()]
    assert exported, "the export wrote no event"
    assert "train done" in results["messages"], session.diagnostics()


def test_extmark_renderer_shows_the_item_and_accepts_a_word_then_a_line(
    tmp_path: Path, default_model_path: Path
) -> None:
    session = nvim_session.run(tmp_path, "extmark.lua", {"setup": {"renderer": "extmark"}})
    results = session.check()
    assert results["renderer"] == "extmark", session.diagnostics()
    assert results["native_enabled"] is False
    first = results["first_item"]
    assert results["first_ghost"] == first, "the extmarks show the item's insertText"

    word = expected_word(first)
    assert word != first, f"a one-word suggestion cannot test a word accept: {first!r}"
    assert results["line_after_word"] == results["line_before"] + word
    assert results["word_decision"]["action"] == "accept_word"
    assert results["word_decision"]["inserted"] == word

    second = results["second_item"]
    assert results["second_ghost"] == second
    line = expected_line(second)
    assert results["buffer"].endswith(results["line_after_word"] + line), session.diagnostics()
    whole = line == second
    assert results["line_decision"]["action"] == ("accept" if whole else "accept_line")

    first_events = events_of(session, results["word_decision"]["id"], 2)
    assert kinds(first_events) == ["shown", "accepted_partial"], session.diagnostics()
    assert first_events[1].data["chars"] == len(word)
    second_events = events_of(session, results["line_decision"]["id"], 2)
    if whole:
        assert kinds(second_events) == ["shown", "accepted"], session.diagnostics()
        assert second_events[1].data["how"] == "command"
    else:
        assert kinds(second_events) == ["shown", "accepted_partial"], session.diagnostics()
        assert second_events[1].data["chars"] == len(line)
    assert results["requests_while_off"] == 0, "suggestions toggled off still asked the server"


def test_checkhealth_finds_the_server_the_model_and_the_running_client(
    tmp_path: Path, default_model_path: Path
) -> None:
    def project_server(session: Session) -> None:
        """The server in the project's virtual environment, where the plugin looks first."""
        bin_dir = session.project / ".venv" / "bin"
        bin_dir.mkdir(parents=True)
        (bin_dir / "ghostwright").symlink_to(nvim_session.GHOSTWRIGHT)

    session = nvim_session.run(tmp_path, "health.lua", {"cmd": None}, prepare=project_server)
    results = session.check()
    assert results["new_globals"] == [], "the plugin leaks global variables"
    report = results["health"]
    server = session.project / ".venv" / "bin" / "ghostwright"
    found = f"OK server command found: `{server} serve` (from the project virtual environment)"
    assert found in report, report
    assert f"OK model: {default_model_path}" in report, report
    assert f"root {session.project}: ready" in report, report
    assert "OK no error seen" in report, report
    assert "ERROR" not in report and "WARNING" not in report, report
    tags = set(results["help_tags"])
    assert {"ghostwright-options", ":Ghostwright", "ghostwright-health"} <= tags, tags


def error_scenario(case: str, tmp_path: Path) -> dict[str, Any]:
    if case == "missing_command":
        return {"cmd": [str(tmp_path / "nowhere" / "ghostwright"), "serve"]}
    if case == "server_exits":
        return {"cmd": ["sh", "-c", "exit 3"], "shown": "exit code 3"}
    settings = {"model": str(tmp_path / "missing.gguf")}
    return {"setup": {"settings": settings}, "wait_for_status": True}


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing_command", "is not an executable program. Install Ghostwright"),
        ("server_exits", "the server exited with code 3"),
        ("missing_model", "does not exist. Run `ghostwright model fetch`"),
    ],
)
def test_a_server_that_cannot_run_gives_a_clear_error(
    tmp_path: Path, case: str, expected: str
) -> None:
    params = error_scenario(case, tmp_path)
    session = nvim_session.run(tmp_path / "nvim", "errors.lua", params)
    results = session.check()
    assert expected in results["last_error"], session.diagnostics()
    if case != "server_exits":  # Neovim itself says that a server quit
        shown = results["messages"].count(results["last_error"])
        assert shown == 1, "shown once: " + results["messages"]
    assert expected in results["health"] and "ERROR" in results["health"], results["health"]


def test_screenshot_shows_the_ghost_text_in_its_colour(
    tmp_path: Path, default_model_path: Path
) -> None:
    """Neovim's screen through its UI protocol, drawn to a PNG (the README's picture)."""
    session = nvim_session.new_session(tmp_path / "nvim")
    nvim_session.write_params(session, {})
    nvim = EmbeddedNvim(
        nvim_session.nvim_command("screenshot.lua", embed=True),
        env=nvim_session.environment(session),
        cwd=session.project,
        stderr=session.home / "stderr.txt",
        size=(88, 22),
    )
    visible = nvim.pump(lambda: bool(nvim.notifications), 90)
    # The scenario redraws, then notifies: the screen as it was then shows the suggestion.
    grid = nvim.notifications[0][2] if visible else nvim.grid
    picture = tmp_path / "nvim.png"
    render_png(grid, picture)
    nvim.request("nvim_set_var", "ghostwright_screenshot_taken", True)
    nvim.wait_exit(30)
    nvim_session.read_results(session)
    assert visible, session.diagnostics()
    results = session.check()

    typed, ghost = results["line_before"], results["ghost"].split("\n")[0]
    rows = [row for row in range(grid.height) if typed + ghost in grid.row_text(row)]
    assert rows, f"no row shows {typed + ghost!r}:\n{grid.text()}"
    row = rows[0]
    start = grid.row_text(row).index(typed + ghost) + len(typed)
    typed_colour = grid.colours(row, start - 1)[0]
    ghost_colours = {grid.colours(row, col)[0] for col in range(start, start + len(ghost))}
    assert ghost_colours and typed_colour not in ghost_colours, "ghost text looks typed"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(picture, ARTIFACTS / "nvim.png")


AREA = "def area(width, height):\n    result = width * height\n    return result\n"
"""PROTOCOL's next-edit scenario: renaming `result` on line 2 leaves its use on line 3."""


def next_edit_session(tmp_path: Path, case: str, setup: dict[str, Any] | None = None) -> Session:
    """Run `next_edit.lua` on a copy of AREA: rename `result`, then the `case`."""

    def write_area(session: Session) -> None:
        (session.project / "area.py").write_text(AREA, encoding="utf-8")

    params = {"case": case, "file": str(tmp_path / "project" / "area.py"), "setup": setup or {}}
    session = nvim_session.run(tmp_path, "next_edit.lua", params, prepare=write_area)
    results = session.check()
    assert results["lines_after_rename"][1] == "    total = width * height", session.diagnostics()
    return session


def check_proposal(session: Session) -> None:
    """The rename of line 3 is on screen: `result` highlighted, `total` inline after it."""
    results = session.results
    proposal = results["proposal"]
    assert proposal["version"] == results["version"], session.diagnostics()
    assert proposal["jump"] == {"line": 2, "character": 11}, proposal
    assert [(e["range"], e["newText"]) for e in proposal["edits"]] == [
        ({"start": {"line": 2, "character": 11}, "end": {"line": 2, "character": 17}}, "total")
    ], proposal
    marks = [mark for mark in results["marks"] if mark.get("virt_text_pos") != "eol"]
    assert marks == [
        {"row": 2, "col": 11, "end_row": 2, "end_col": 17, "hl_group": "GhostwrightNextEditDelete"},
        {
            "row": 2,
            "col": 17,
            "virt_text": "total",
            "virt_text_pos": "inline",
            "virt_text_hl": "GhostwrightNextEditInsert",
        },
    ], session.diagnostics()


def test_next_edit_jump_key_moves_to_the_proposal_then_applies_it(
    tmp_path: Path, default_model_path: Path
) -> None:
    session = next_edit_session(tmp_path, "accept")
    results = session.results
    check_proposal(session)
    assert results["cursor_after_jump"] == [3, 11]
    assert results["lines_after_jump"] == results["lines_after_rename"], "the jump changed text"
    assert results["marks_after_jump"] == results["marks"], "the jump hid the proposal"
    assert results["lines_after_apply"] == [
        "def area(width, height):",
        "    total = width * height",
        "    return total",
    ]
    assert results["marks_after_apply"] == []
    accepted = {"command": "ghostwright.nextEdit.accepted", "arguments": [{"id": results["id"]}]}
    assert results["commands"] == [accepted]
    assert results["dismissed"] == []
    assert [e["action"] for e in results["events"]] == ["shown", "accept"]
    events = events_of(session, results["id"], 2)
    assert kinds(events) == ["next_edit_shown", "next_edit_accepted"], session.diagnostics()
    assert events[1].data["how"] == "applied"


def test_next_edit_dismiss_key_takes_the_proposal_off_the_screen(
    tmp_path: Path, default_model_path: Path
) -> None:
    session = next_edit_session(tmp_path, "dismiss")
    results = session.results
    check_proposal(session)
    assert results["lines_after_dismiss"] == results["lines_after_rename"]
    assert results["dismissed"] == [{"id": results["id"]}]
    assert results["commands"] == []
    assert [e["action"] for e in results["events"]] == ["shown", "dismiss"]
    events = events_of(session, results["id"], 2)
    assert kinds(events) == ["next_edit_shown", "next_edit_rejected"], session.diagnostics()
    assert events[1].data["how"] == "dismissed"


def test_next_edit_a_newer_change_clears_the_proposal(
    tmp_path: Path, default_model_path: Path
) -> None:
    session = next_edit_session(tmp_path, "newer")
    results = session.results
    check_proposal(session)
    assert results["lines_after_typing"][0] == "def area(width, height): # width times height"
    assert results["marks_after_typing"] == [], "a stale proposal stayed on screen"
    assert results["dismissed"][0] == {"id": results["id"]}
    assert results["events"][:2] == [
        {"action": "shown", "id": results["id"]},
        {"action": "stale", "id": results["id"]},
    ]
    events = events_of(session, results["id"], 2)
    assert kinds(events) == ["next_edit_shown", "next_edit_rejected"], session.diagnostics()


def test_next_edit_off_asks_only_on_command_and_hints_at_a_proposal_off_screen(
    tmp_path: Path, default_model_path: Path
) -> None:
    session = next_edit_session(tmp_path, "off", {"next_edit": {"enabled": False}})
    results = session.results
    assert results["requests_while_off"] == 0, "next edits off still asked the server"
    assert results["marks_while_off"] == []
    check_proposal(session)
    assert results["window_lines"] == [2, 2], "line 3 is on screen: no hint to test"
    hint = f"  ↓ {results['proposal']['label']} (line 3)  <M-n>"
    assert [m for m in results["marks"] if m.get("virt_text_pos") == "eol"] == [
        {
            "row": 1,
            "col": 0,
            "virt_text": hint,
            "virt_text_pos": "eol",
            "virt_text_hl": "GhostwrightNextEditHint",
        }
    ], session.diagnostics()
    assert results["lines_after_apply"][2] == "    return total"
    assert results["marks_after_apply"] == []
    assert results["commands"][0]["arguments"] == [{"id": results["id"]}]
    events = events_of(session, results["id"], 2)
    assert kinds(events) == ["next_edit_shown", "next_edit_accepted"], session.diagnostics()
