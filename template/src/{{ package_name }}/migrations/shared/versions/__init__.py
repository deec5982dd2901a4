"""Alembic migrations (see tenancy/migrations.py)."""
