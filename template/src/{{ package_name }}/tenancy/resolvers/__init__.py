"""How a request names its tenant. ``base.TenantResolver`` is the one interface."""
