"""Routes: health, the tenant admin API, the example ``notes`` resource and its
WebSocket (``live``)."""
