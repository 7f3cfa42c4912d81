"""Benchmarks: scripts run as ``python bench/NAME.py`` that print figures (see run_all.py)."""
