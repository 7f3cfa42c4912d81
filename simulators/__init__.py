"""Seeded traffic generators for every feed of the wire contract."""
