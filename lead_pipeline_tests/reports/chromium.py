"""Headless Chromium (Debian's /usr/bin/chromium) for opening a report as a reader would."""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
# Offline and quiet: no sync, updates, first-run UI or background traffic.
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000",
]
CONSOLE_LINE = re.compile(r":CONSOLE:\d+\]\s*(?P<message>.*)")


@dataclass(frozen=True)
class PageVisit:
    dom: str
    console: list[str]
    screenshot: Path


def visit(page: Path, screenshot: Path, *, width: int = 1000, height: int = 1500) -> PageVisit:
    """Load `page`, return its DOM after scripts ran, every console message, and a screenshot."""
    url = page.resolve().as_uri()
    console: list[str] = []
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        common = [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}"]
        dumped = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True)
        console += _console(dumped.stderr)
        shot = subprocess.run(
            [*common, f"--screenshot={screenshot}", f"--window-size={width},{height}", url],
            capture_output=True, text=True, timeout=120, check=True,
        )
        console += _console(shot.stderr)
    return PageVisit(dom=dumped.stdout, console=console, screenshot=screenshot)


def _console(stderr: str) -> list[str]:
    return [match.group("message") for match in map(CONSOLE_LINE.search, stderr.splitlines()) if match]
