"""Alerts about the pipeline's own health, sent to Slack."""
