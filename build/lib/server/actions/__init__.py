"""Use cases: what the product does, independent of how requests arrive.

One path for a chat message, readable top to bottom in `chat.send_message`: validate
(the edge did), authorize (`access.py`), scan (`assessment.py`, `detection.py`), store
(the flag first, `flags.py`), broadcast, alert (`routing.py`), ack. Also moderation
(`moderate.py`), help requests, going on call (`oncall.py`), escalation, the crisis
outbox and delivery sweep, retention, idle logoff and the background jobs.
May import: `server.store`, `server.realtime`, `server.wire.events`/`payloads`/`schemas`
(names and shapes), `moderation` (public names only); never `server.http` or the
socket handlers.
"""
