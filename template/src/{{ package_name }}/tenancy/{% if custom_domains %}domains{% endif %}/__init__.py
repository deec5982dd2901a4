"""Custom domains: a tenant's own host names (``app.acme.com``), beside its subdomain.

A domain is added as ``pending`` with a random token, becomes ``active`` once a DNS
TXT record proves whoever controls it wants it here (``verify.py``), and only then
resolves to its tenant (``resolver.py``). The registry is the ``tenant_domains``
table (``store.py``): its primary key is the domain, so a domain belongs to at most
one tenant whatever the interleaving. Every change reaches every instance's cache
through the tenant cache's invalidation channel (``lifecycle.py``).
"""
