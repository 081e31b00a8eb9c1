"""Statistics computed by hand, to check what the warehouse computes."""


def quantile(values: list[float], q: float) -> float:
    """Linear interpolation between order statistics (DuckDB's quantile_cont), by hand."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
