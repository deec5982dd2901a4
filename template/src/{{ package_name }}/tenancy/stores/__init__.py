"""Where tenant records live. ``base.TenantStore`` is the one interface."""
