"""Reports built from the warehouse (no Dagster)."""
