"""The IOP cohort chat server: aiohttp + python-socketio + MongoDB (PyMongo async).

Folders are layers: `wire/` and `http/` (edges) -> `actions/` (use cases) -> `store/`
(MongoDB) and `realtime/` (fan-out, cross-process); tests/test_layers.py keeps it so.
Where a chat message goes: wire/sockets.py (event) -> wire/schemas.py (validate) ->
actions/chat.py (authorize, scan via actions/detection.py and moderation/, store via
store/messages.py, broadcast via realtime/notify.py) -> actions/flags.py and actions/routing.py
(flag, alert, resources) -> the ack.
"""
