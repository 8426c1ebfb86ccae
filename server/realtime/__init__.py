"""Real-time fan-out and cross-process coordination.

`notify.py` emits to Socket.IO rooms (enforcing the receive rules), `registry.py` knows
this process's connections, `presence.py` who is online and on call (Redis across
processes), `control.py` carries instructions between processes, `sessions.py` acts on
them (logout, membership, escalation news), `fanout.py` bounds Socket.IO's Redis publish.
May import the store and the wire's names and shapes; never `server.http`.
"""
