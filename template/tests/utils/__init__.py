"""Helpers the tests share; ``resolution.py`` is how a test names a tenant (one per answer)."""
