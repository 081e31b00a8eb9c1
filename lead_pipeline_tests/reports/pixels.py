"""What an image shows, measured with Pillow: how much of it is coloured, and in how many hues."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from PIL import Image


def coloured_share_and_hues(path: Path, *, box: tuple[int, int, int, int] | None = None) -> tuple[float, int]:
    """Share of pixels that are clearly coloured (not white, grey or black: chart marks, not text or
    gridlines), and how many distinct hues (30° buckets) cover at least 0.2% of the image each."""
    with Image.open(path) as image:
        rgb = image.convert("RGB")
        if box:
            rgb = rgb.crop(box)
        hsv = rgb.convert("HSV")
        pixels = list(hsv.getdata())
    coloured = [h for h, s, v in pixels if s > 80 and v > 60]
    hues = Counter(h * 12 // 256 for h in coloured)
    floor = 0.002 * len(pixels)
    return len(coloured) / len(pixels), sum(1 for count in hues.values() if count >= floor)
