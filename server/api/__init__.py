"""The HTTP API (PROTOCOL.md "HTTP API"): one module per area, wired in routes.py."""
