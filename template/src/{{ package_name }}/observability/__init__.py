"""Observability: logs, metrics and traces that say which tenant and which request.

Nothing here decides anything about tenants: the tenancy layer (``tenancy/``) sets
the current tenant and actor; these modules read them and write them down.
"""
