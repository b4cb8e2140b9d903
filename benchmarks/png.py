"""A small PNG line chart in pure Python (zlib + struct): no plotting library to vendor for four lines."""

from __future__ import annotations

import itertools
import struct
import zlib
from pathlib import Path

# 3x5 pixel glyphs for tick labels and short legends.
GLYPHS = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001001001001",
    "8": "111101111101111", "9": "111101111001111", ".": "000000000000010", " ": "000000000000000",
    "s": "000011110011110", "x": "000101010101000", "n": "000110101101101", "a": "000011101101011",
    "l": "110010010010111", "c": "000111100100111", "e": "000111111100111", "i": "010000010010010",
    "v": "000101101101010", "w": "000101101111101", "r": "000110101100100", "t": "010111010010011",
    "p": "000110101110100", "h": "100100110101101",
}  # fmt: skip
PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40)]


class Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(b"\xff" * (width * height * 3))

    def dot(self, x: int, y: int, color: tuple[int, int, int], size: int = 1) -> None:
        for dx in range(size):
            for dy in range(size):
                px, py = x + dx, y + dy
                if 0 <= px < self.width and 0 <= py < self.height:
                    i = (py * self.width + px) * 3
                    self.pixels[i : i + 3] = bytes(color)

    def line(self, x0: int, y0: int, x1: int, y1: int, color: tuple[int, int, int], *, size: int = 2) -> None:
        steps = max(abs(x1 - x0), abs(y1 - y0), 1)
        for k in range(steps + 1):
            self.dot(round(x0 + (x1 - x0) * k / steps), round(y0 + (y1 - y0) * k / steps), color, size)

    def text(self, x: int, y: int, text: str, color: tuple[int, int, int] = (0, 0, 0), scale: int = 2) -> None:
        for n, char in enumerate(text):
            glyph = GLYPHS.get(char, GLYPHS[" "])
            for bit, on in enumerate(glyph):
                if on == "1":
                    self.dot(x + n * 4 * scale + (bit % 3) * scale, y + (bit // 3) * scale, color, scale)

    def png(self) -> bytes:
        rows = b"".join(
            b"\x00" + bytes(self.pixels[y * self.width * 3 : (y + 1) * self.width * 3]) for y in range(self.height)
        )

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")
        )


def chart(
    panels: list[tuple[str, dict[str, list[tuple[float, float]]]]],
    path: Path,
    colors: dict[str, tuple[int, int, int]] | None = None,
) -> None:
    """Side-by-side panels; each maps a series name to (x, y) points. x is drawn on a log scale.

    `colors` fixes a series' colour across panels (else the palette, in order)."""
    import math

    width, height, margin = 420, 300, 50
    canvas = Canvas(width * len(panels), height)
    for p, (title, series) in enumerate(panels):
        left = p * width + margin
        xs = [x for pts in series.values() for x, _ in pts]
        ys = [y for pts in series.values() for _, y in pts]
        top_y = max(ys) * 1.1 or 1
        lo, hi = math.log10(min(xs)), math.log10(max(xs)) or 1

        def at(x: float, y: float, box: tuple[int, float, float, float] = (left, lo, hi, top_y)) -> tuple[int, int]:
            x0, low, high, y_top = box
            fx = (math.log10(x) - low) / ((high - low) or 1)
            return x0 + round(fx * (width - 2 * margin)), height - margin - round(y / y_top * (height - 2 * margin))

        canvas.line(left, height - margin, left + width - 2 * margin, height - margin, (0, 0, 0), size=1)
        canvas.line(left, margin, left, height - margin, (0, 0, 0), size=1)
        canvas.text(left, 12, title)
        for tick in (0, top_y / 2, top_y / 1.1):
            canvas.text(left - 44, at(min(xs), tick)[1] - 5, f"{tick:.1f}"[:5], scale=2)
        for x in sorted(set(xs)):
            canvas.text(at(x, 0)[0] - 6, height - margin + 8, f"{x:g}", scale=2)
        for n, (name, points) in enumerate(series.items()):
            color = (colors or {}).get(name, PALETTE[n % len(PALETTE)])
            pts = sorted(points)
            for (x0, y0), (x1, y1) in itertools.pairwise(pts):
                canvas.line(*at(x0, y0), *at(x1, y1), color)
            for x, y in pts:
                cx, cy = at(x, y)
                canvas.dot(cx - 2, cy - 2, color, 5)
            legend = p * width + margin + 90 * n
            canvas.dot(legend + 10, height - 22, color, 8)
            canvas.text(legend + 22, height - 22, name[:8], color)
    path.write_bytes(canvas.png())
