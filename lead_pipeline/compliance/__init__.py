"""Data protection: subject access export, erasure across every store, and retention (no Dagster)."""
