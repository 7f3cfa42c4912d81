"""Digests: the day, the week and the month of a scope by e-mail, at its local morning."""
