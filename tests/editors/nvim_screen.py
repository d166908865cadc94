"""What a person sees in Neovim, as a picture: a minimal UI for `nvim --embed`.

Neovim draws through its UI protocol (msgpack-RPC `redraw` notifications: a grid of cells,
each with a highlight whose colours Neovim sends), the way a terminal or GUI front end gets it.
`EmbeddedNvim` attaches as such a UI, keeps the grid, and `render_png` draws the grid with
Neovim's own colours in a monospace font: the screenshot shows exactly what Neovim displayed.
"""

from __future__ import annotations

import copy
import os
import select
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
import msgpack  # type: ignore[import-untyped]
from PIL import Image, ImageDraw, ImageFont

REQUEST, RESPONSE, NOTIFICATION = 0, 1, 2


@dataclass
class Highlight:
    foreground: int | None = None
    background: int | None = None
    reverse: bool = False
    bold: bool = False
    italic: bool = False
    underline: bool = False


@dataclass
class Grid:
    """Neovim's screen: rows of (text, highlight id) cells, the highlights, the cursor."""

    width: int
    height: int
    cells: list[list[tuple[str, int]]] = field(default_factory=list)
    highlights: dict[int, Highlight] = field(default_factory=dict)
    foreground: int = 0xE0E2EA
    background: int = 0x14161B
    cursor: tuple[int, int] = (0, 0)
    mode: str = "normal"

    def __post_init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.cells = [[(" ", 0)] * self.width for _ in range(self.height)]

    def row_text(self, row: int) -> str:
        return "".join(text for text, _ in self.cells[row])

    def text(self) -> str:
        return "\n".join(self.row_text(row) for row in range(self.height))

    def colours(self, row: int, col: int) -> tuple[int, int]:
        """(foreground, background) of a cell, reverse video applied."""
        highlight = self.highlights.get(self.cells[row][col][1], Highlight())
        fg = self.foreground if highlight.foreground is None else highlight.foreground
        bg = self.background if highlight.background is None else highlight.background
        return (bg, fg) if highlight.reverse else (fg, bg)

    def apply(self, name: str, args: list[Any]) -> None:
        """One redraw event (`:help ui-linegrid`)."""
        if name == "grid_resize":
            _, self.width, self.height = args
            self.clear()
        elif name == "default_colors_set":
            fg, bg = args[0], args[1]
            self.foreground = fg if fg >= 0 else self.foreground
            self.background = bg if bg >= 0 else self.background
        elif name == "hl_attr_define":
            hl_id, rgb = args[0], args[1]
            self.highlights[hl_id] = Highlight(
                rgb.get("foreground"),
                rgb.get("background"),
                bool(rgb.get("reverse")),
                bool(rgb.get("bold")),
                bool(rgb.get("italic")),
                bool(rgb.get("underline")),
            )
        elif name == "grid_clear":
            self.clear()
        elif name == "grid_cursor_goto":
            self.cursor = (args[1], args[2])
        elif name == "mode_change":
            self.mode = args[0]
        elif name == "grid_line":
            self._line(args[1], args[2], args[3])
        elif name == "grid_scroll":
            self._scroll(*args[1:6])

    def _line(self, row: int, col: int, cells: list[list[Any]]) -> None:
        hl_id = 0
        for cell in cells:
            text = cell[0]
            if len(cell) > 1:
                hl_id = cell[1]
            repeat = cell[2] if len(cell) > 2 else 1
            for _ in range(repeat):
                if col < self.width:
                    self.cells[row][col] = (text, hl_id)
                col += 1

    def _scroll(self, top: int, bottom: int, left: int, right: int, rows: int) -> None:
        order = range(top, bottom - rows) if rows > 0 else range(bottom - 1, top - rows - 1, -1)
        for row in order:
            self.cells[row][left:right] = self.cells[row + rows][left:right]


class EmbeddedNvim:
    """`nvim --embed` with this object attached as its UI."""

    def __init__(
        self,
        command: list[str],
        *,
        env: dict[str, str],
        cwd: Path,
        stderr: Path,
        size: tuple[int, int],
    ) -> None:
        self._stderr = stderr.open("wb")
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            cwd=cwd,
        )
        self.grid = Grid(*size)
        self.notifications: list[tuple[str, list[Any], Grid]] = []
        """Notifications other than redraws, each with a copy of the screen when it came."""
        self.frames = 0
        """Completed redraws (`flush` events) so far."""
        self._unpacker = msgpack.Unpacker(raw=False, strict_map_key=False)
        self._next_id = 0
        self.request("nvim_ui_attach", size[0], size[1], {"rgb": True, "ext_linegrid": True})

    def request(self, method: str, *params: Any) -> None:
        """Send a request; its response is read and dropped by `pump`."""
        assert self.process.stdin is not None
        self._next_id += 1
        self.process.stdin.write(msgpack.packb([REQUEST, self._next_id, method, list(params)]))
        self.process.stdin.flush()

    def pump(self, until: Callable[[], bool], timeout: float) -> bool:
        """Read and apply what Neovim sends until `until()` or end of output or `timeout`."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        while not until():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            ready, _, _ = select.select([fd], [], [], min(remaining, 0.5))
            if not ready:
                continue
            data = os.read(fd, 65536)
            if not data:
                return until()
            self._unpacker.feed(data)
            for message in self._unpacker:
                self._handle(message)
        return True

    def _handle(self, message: list[Any]) -> None:
        if message[0] == NOTIFICATION and message[1] == "redraw":
            for batch in message[2]:
                name = batch[0]
                for args in batch[1:]:
                    self.grid.apply(name, args)
                if name == "flush":
                    self.frames += 1
        elif message[0] == NOTIFICATION:
            self.notifications.append((message[1], message[2], copy.deepcopy(self.grid)))
        elif message[0] == REQUEST:  # none expected: answer so that Neovim never waits
            assert self.process.stdin is not None
            reply = [RESPONSE, message[1], "not supported by the test UI", None]
            self.process.stdin.write(msgpack.packb(reply))
            self.process.stdin.flush()

    def wait_exit(self, timeout: float) -> int:
        try:
            self.pump(lambda: self.process.poll() is not None, timeout)
            return self.process.wait(timeout=5)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._stderr.close()


FONT_STYLES = {
    (False, False): "",
    (True, False): "-Bold",
    (False, True): "-Oblique",
    (True, True): "-BoldOblique",
}
"""DejaVu Sans Mono file suffixes (the fonts matplotlib ships) by (bold, italic)."""


def _font(bold: bool, italic: bool, size: int) -> ImageFont.FreeTypeFont:
    name = f"DejaVuSansMono{FONT_STYLES[(bold, italic)]}.ttf"
    return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name), size)


def _rgb(colour: int) -> tuple[int, int, int]:
    return (colour >> 16) & 0xFF, (colour >> 8) & 0xFF, colour & 0xFF


def render_png(grid: Grid, path: Path, *, font_size: int = 16, margin: int = 12) -> None:
    """Draw the grid cell by cell with Neovim's colours; a bar for the insert-mode cursor."""
    fonts = {(b, i): _font(b, i, font_size) for b in (False, True) for i in (False, True)}
    regular = fonts[(False, False)]
    ascent, descent = regular.getmetrics()
    cell_w, cell_h = round(regular.getlength("M")), ascent + descent + 2
    size = (grid.width * cell_w + 2 * margin, grid.height * cell_h + 2 * margin)
    image = Image.new("RGB", size, _rgb(grid.background))
    draw = ImageDraw.Draw(image)
    for row in range(grid.height):
        y = margin + row * cell_h
        for col in range(grid.width):
            text, hl_id = grid.cells[row][col]
            fg, bg = grid.colours(row, col)
            x = margin + col * cell_w
            draw.rectangle([x, y, x + cell_w - 1, y + cell_h - 1], fill=_rgb(bg))
            highlight = grid.highlights.get(hl_id, Highlight())
            if text.strip():
                font = fonts[(highlight.bold, highlight.italic)]
                draw.text((x, y + 1), text, font=font, fill=_rgb(fg))
            if highlight.underline:
                draw.line([x, y + cell_h - 2, x + cell_w, y + cell_h - 2], fill=_rgb(fg))
    row, col = grid.cursor
    x, y = margin + col * cell_w, margin + row * cell_h
    if grid.mode.startswith("insert"):
        draw.rectangle([x, y, x + 1, y + cell_h - 1], fill=_rgb(grid.foreground))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
