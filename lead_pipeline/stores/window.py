from dataclasses import dataclass


@dataclass(frozen=True)
class DateWindow:
    """Half-open range of ISO days `[start, end)`, the shape of a partition or partition range."""

    start: str
    end: str
