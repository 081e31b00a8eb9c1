"""Per-field accuracy collected by the lead evaluation, printed in pytest's terminal summary."""

# field -> (right, total, descriptions of the wrong rows)
ACCURACY: dict[str, tuple[int, int, list[str]]] = {}
