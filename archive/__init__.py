"""The archive: every accepted record for years, in an embedded DuckDB file (issue 15).

See docs/archive.md. Layer 1: imports only ``stream``, ``dsp`` and ``text``.
"""
