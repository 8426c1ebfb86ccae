"""The IOP cohort chat server: aiohttp + python-socketio + MongoDB (PyMongo async).

Where a chat message goes: sockets.py (event) -> schemas.py (validate) -> chat.py
(authorize, scan via moderation/, store via store/messages.py, broadcast via notify.py)
-> alerts.py (flag and alert) -> the ack.
"""
