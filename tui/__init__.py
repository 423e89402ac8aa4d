"""Textual layout designer."""
