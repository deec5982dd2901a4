"""HTTP routes: health, the tenant admin API and the example ``notes`` resource."""
