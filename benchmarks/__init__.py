"""Benchmarks: scripts that print figures (run them as `python benchmarks/<name>.py`)."""
