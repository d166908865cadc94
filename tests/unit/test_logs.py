"""The log never blocks its caller: a bounded queue that drops and counts, and llama.cpp's log
lines joined into whole lines at DEBUG."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import threading

import pytest

from ghostwright.logs import (
    LLAMA_LOGGER,
    BoundedQueueHandler,
    _llama_line,
    configure_logging,
    flush_logging,
)


def record(message: str) -> logging.LogRecord:
    return logging.makeLogRecord({"name": "ghostwright.test", "msg": message})


def test_a_full_queue_drops_records_and_counts_them_then_says_so() -> None:
    handler = BoundedQueueHandler(capacity=3)
    for number in range(5):
        handler.handle(record(f"r{number}"))
    assert handler.records.qsize() == 3
    assert (handler.dropped, handler.dropped_total) == (2, 2)
    taken = [handler.records.get_nowait() for _ in range(3)]
    assert [r.getMessage() for r in taken if r is not None] == ["r0", "r1", "r2"]
    handler.handle(record("r5"))  # room again: first the note, then the record
    note, latest = handler.records.get_nowait(), handler.records.get_nowait()
    assert note is not None and latest is not None
    assert note.getMessage() == "2 log records were dropped: stderr was not read fast enough"
    assert note.levelno == logging.WARNING
    assert latest.getMessage() == "r5"
    assert (handler.dropped, handler.dropped_total) == (0, 2)


def test_logging_returns_at_once_when_no_one_reads_stderr() -> None:
    """A pipe whose reader does not read: its buffer fills, the writer thread blocks, and every
    log call still returns (records beyond the queue are dropped and counted)."""
    read_end, write_end = os.pipe()
    stream = io.TextIOWrapper(os.fdopen(write_end, "wb"), write_through=True)
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("ghostwright").level)
    try:
        handler = configure_logging("INFO", stream)
        log = logging.getLogger("ghostwright.test")
        done = threading.Event()

        def flood() -> None:
            for number in range(30_000):  # ~3 MB of log: far past a pipe's 64 KiB
                log.info("record %d %s", number, "x" * 64)
            done.set()

        threading.Thread(target=flood, daemon=True).start()
        assert done.wait(60), "a log call blocked on a stderr that no one reads"
        assert handler.dropped_total > 0
    finally:
        reader = threading.Thread(
            target=lambda: [None for _ in iter(lambda: os.read(read_end, 1 << 16), b"")]
        )
        reader.start()  # now read it all, so that the writer thread can finish
        flush_logging()
        stream.close()
        reader.join(30)
        os.close(read_end)
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.getLogger("ghostwright").setLevel(saved[2])


def test_llama_cpp_pieces_become_whole_debug_lines(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger=LLAMA_LOGGER.name):
        for piece in (b"llama_model_loader: loaded", b" meta data\nprogress", b".", b".\n", b"\n"):
            _llama_line(2, piece, None)
    lines = [r.getMessage() for r in caplog.records if r.name == LLAMA_LOGGER.name]
    assert lines == ["llama_model_loader: loaded meta data", "progress.."]
    assert all(r.levelno == logging.DEBUG for r in caplog.records)


def test_llama_cpp_logs_in_the_ghostwright_log_at_debug_only(tmp_path: object) -> None:
    """A real model load in a fresh process: llama.cpp's own lines arrive through the logger
    at DEBUG (and not at INFO)."""
    from ghostwright.engine.models import default_model, is_fetched

    spec = default_model()
    if not is_fetched(spec):
        pytest.fail("the default model is not fetched: run `make model` (make test does)")
    program = (
        "import sys\n"
        "from ghostwright.logs import configure_logging\n"
        "from ghostwright.engine.local import read_fim_tokens\n"
        "from pathlib import Path\n"
        "configure_logging(sys.argv[1], sys.stderr)\n"
        "read_fim_tokens(Path(sys.argv[2]))\n"
    )
    runs = {
        level: subprocess.run(
            [sys.executable, "-c", program, level, str(spec.cached_path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        for level in ("DEBUG", "INFO")
    }
    debug_lines = [
        line for line in runs["DEBUG"].stderr.splitlines() if "ghostwright.llama_cpp:" in line
    ]
    assert any("llama_context: n_ctx" in line for line in debug_lines), runs["DEBUG"].stderr[-2000:]
    assert all(" DEBUG ghostwright.llama_cpp: " in line for line in debug_lines)
    assert "llama_context" not in runs["INFO"].stderr
    assert runs["DEBUG"].stdout == runs["INFO"].stdout == ""
