"""The Socket.IO edge: parse what comes in, shape what goes out.

`sockets.py` handlers are thin: parse with `schemas.py`, call one use case in
`server.actions`, shape the ack. `payloads.py` shapes every outbound object per viewer,
`events.py` names the events and rooms, `receive_rules.py` says who may receive each.
May import: `server.actions`, `server.realtime`, the top-level modules, and
`server.store.failures` (to answer `unavailable`); never the rest of `server.store`.
"""
