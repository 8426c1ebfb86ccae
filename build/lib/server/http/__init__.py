"""The HTTP edge (PROTOCOL.md "HTTP API"): one module per area, plus `common.py`
(authentication, bodies, client address) and `middleware.py` (errors, headers).
May import: `server.actions`, `server.realtime`, the top-level modules and
`server.store.failures`; never the rest of `server.store` (routes reach storage through
`ctx.stores` or a use case).
"""
