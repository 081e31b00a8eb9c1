"""Attachments: safe names, size limits, malware scanning and content-addressed storage (no Dagster here)."""
