"""How tenants' data is kept apart. ``base.IsolationProvider`` is the one interface."""
