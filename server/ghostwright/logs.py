"""Logging that never blocks the caller, and llama.cpp's own log lines in it.

The log goes to stderr, which an editor may not read: once the pipe's buffer is full, a write
blocks, and a log call on the event loop would stall every request. So a record is handed to a
bounded queue and written by one thread of its own; when the queue is full the record is dropped
and counted, and the count is logged as soon as there is room again.

llama.cpp writes its log through a callback (`llama_log_set`); `route_llama_log` points it at
the `ghostwright.llama_cpp` logger at DEBUG, so that its lines arrive with everyone else's
instead of being silenced with file-descriptor tricks.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
from logging.handlers import QueueHandler
from typing import Any, TextIO

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUEUE_CAPACITY = 10_000
"""Records waiting for stderr before new ones are dropped (a few MB at most)."""


class BoundedQueueHandler(QueueHandler):
    """Hands records to a bounded queue; a full queue drops the record and counts it."""

    def __init__(self, capacity: int = QUEUE_CAPACITY) -> None:
        self.records: queue.Queue[logging.LogRecord | None] = queue.Queue(capacity)
        super().__init__(self.records)
        self.dropped = 0
        """Records dropped since the last note about drops reached the queue."""
        self.dropped_total = 0

    def enqueue(self, record: logging.LogRecord) -> None:
        # `Handler.handle` holds this handler's lock: the counts need no lock of their own.
        try:
            if self.dropped:
                self.records.put_nowait(self._drop_note())
                self.dropped = 0
            self.records.put_nowait(record)
        except queue.Full:
            self.dropped += 1
            self.dropped_total += 1

    def _drop_note(self) -> logging.LogRecord:
        return logging.makeLogRecord(
            {
                "name": "ghostwright.logs",
                "levelno": logging.WARNING,
                "levelname": "WARNING",
                "msg": "%d log records were dropped: stderr was not read fast enough",
                "args": (self.dropped,),
            }
        )


class _Writer(threading.Thread):
    """Takes records off the queue and writes them, until it takes `None`."""

    def __init__(self, records: queue.Queue[logging.LogRecord | None], handler: logging.Handler):
        super().__init__(name="ghostwright-log", daemon=True)
        self.records = records
        self.handler = handler

    def run(self) -> None:
        while (record := self.records.get()) is not None:
            self.handler.handle(record)

    def finish(self, timeout: float) -> None:
        """Write what is queued, waiting at most `timeout` seconds for a stderr no one reads."""
        try:
            self.records.put(None, timeout=timeout)
        except queue.Full:
            return
        self.join(timeout)


_WRITERS: list[_Writer] = []
FLUSH_TIMEOUT_S = 2.0


def configure_logging(level: str | int, stream: TextIO) -> BoundedQueueHandler:
    """Log Ghostwright at `level` and everyone else at WARNING to `stream`, through a bounded
    queue and a writer thread. Replaces an earlier configuration."""
    flush_logging()
    writer = logging.StreamHandler(stream)
    writer.setFormatter(logging.Formatter(LOG_FORMAT))
    handler = BoundedQueueHandler()
    thread = _Writer(handler.records, writer)
    thread.start()
    _WRITERS.append(thread)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("ghostwright").setLevel(level)
    return handler


def flush_logging() -> None:
    """Write what the queue holds and stop its thread (at exit)."""
    while _WRITERS:
        _WRITERS.pop().finish(FLUSH_TIMEOUT_S)


atexit.register(flush_logging)


LLAMA_LOGGER = logging.getLogger("ghostwright.llama_cpp")
_llama_callback: list[Any] = []
"""The ctypes callback handed to llama.cpp, kept alive for as long as the process runs."""
_partial = threading.local()


def _llama_line(level: int, text: bytes, user_data: Any) -> None:
    """One call of llama.cpp's log callback: a line, or a piece of one (its progress dots)."""
    del level, user_data
    pending: str = getattr(_partial, "text", "") + text.decode("utf-8", errors="replace")
    *lines, _partial.text = pending.split("\n")
    for line in lines:
        if line.strip() and LLAMA_LOGGER.isEnabledFor(logging.DEBUG):
            LLAMA_LOGGER.debug("%s", line)


def route_llama_log() -> None:
    """Send llama.cpp's log lines to the `ghostwright.llama_cpp` logger at DEBUG (once; after
    `import llama_cpp`, which installs llama-cpp-python's own callback)."""
    if _llama_callback:
        return
    import ctypes

    import llama_cpp

    callback = llama_cpp.llama_log_callback(_llama_line)
    _llama_callback.append(callback)
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
