"""Engine.IO v4 / Socket.IO v5 text packets, encoded and parsed by hand.

Why by hand: python-socketio's client runs every packet through several
layers of objects and tasks; with 1000 simulated users on one core that
overhead shows up as latency that belongs to the load generator rather than to
the server. Over the websocket transport each Engine.IO packet is one text
frame, so the whole protocol needed here is a few string prefixes:

    0{...}          Engine.IO OPEN (sid, pingInterval, pingTimeout, maxPayload)
    1               Engine.IO CLOSE
    2 / 3           Engine.IO PING (server) / PONG (our answer)
    40{auth}        Socket.IO CONNECT to "/" (client -> server, auth payload)
    40{"sid":..}    Socket.IO CONNECT accepted (server -> client)
    41              Socket.IO DISCONNECT
    42[ev,data]     Socket.IO EVENT; 42<id>[ev,data] asks for an ack
    43<id>[data]    Socket.IO ACK for event <id>
    44{...}         Socket.IO CONNECT_ERROR
Binary packets (45/46) are not used by the chat protocol and are not handled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

WS_PATH = "/socket.io/?EIO=4&transport=websocket"

PING = "2"
PONG = "3"

# Packet kinds returned by parse().
OPEN = "open"
CLOSE = "close"
PING_KIND = "ping"
NOOP = "noop"
CONNECT = "connect"
DISCONNECT = "disconnect"
EVENT = "event"
ACK = "ack"
CONNECT_ERROR = "connect_error"
UNKNOWN = "unknown"

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


@dataclass(slots=True)
class Packet:
    """One parsed text frame.

    ``event`` is set for EVENT packets; ``data`` holds the event's first
    argument, the ack's first argument, or the OPEN/CONNECT/CONNECT_ERROR
    object.
    """

    kind: str
    ack_id: int | None = None
    event: str | None = None
    data: Any = None


def connect_packet(auth: dict[str, Any] | None) -> str:
    """The Socket.IO CONNECT for namespace "/" carrying ``auth``."""
    return "40" + (_dumps(auth) if auth is not None else "")


def event_packet(event: str, data: Any, ack_id: int | None = None) -> str:
    """A Socket.IO EVENT, asking for an ack when ``ack_id`` is given."""
    head = "42" if ack_id is None else f"42{ack_id}"
    return head + _dumps([event, data])


def ack_packet(ack_id: int, data: Any) -> str:
    """A Socket.IO ACK (used by the tests of this module and by servers)."""
    return f"43{ack_id}" + _dumps([data])


def _split_ack_id(body: str) -> tuple[int | None, str]:
    """Separate the optional decimal ack id from the JSON that follows it."""
    i = 0
    while i < len(body) and body[i].isdigit():
        i += 1
    return (int(body[:i]) if i else None), body[i:]


def parse(frame: str) -> Packet:
    """Parse one websocket text frame of the default namespace."""
    if not frame:
        return Packet(UNKNOWN)
    eio = frame[0]
    if eio == "4":
        return _parse_socketio(frame[1:])
    if eio == "2":
        return Packet(PING_KIND)
    if eio == "0":
        return Packet(OPEN, data=json.loads(frame[1:]))
    if eio == "1":
        return Packet(CLOSE)
    if eio == "6":
        return Packet(NOOP)
    return Packet(UNKNOWN, data=frame)


def _parse_socketio(body: str) -> Packet:
    if not body:
        return Packet(UNKNOWN)
    kind, rest = body[0], body[1:]
    if rest.startswith("/"):  # only "/" is used; skip an explicit "/,"
        rest = rest.split(",", 1)[1] if "," in rest else ""
    if kind == "2":
        ack_id, payload = _split_ack_id(rest)
        args = json.loads(payload)
        return Packet(EVENT, ack_id, args[0], args[1] if len(args) > 1 else None)
    if kind == "3":
        ack_id, payload = _split_ack_id(rest)
        args = json.loads(payload)
        return Packet(ACK, ack_id, data=args[0] if args else None)
    if kind == "0":
        return Packet(CONNECT, data=json.loads(rest) if rest else None)
    if kind == "4":
        return Packet(CONNECT_ERROR, data=json.loads(rest) if rest else None)
    if kind == "1":
        return Packet(DISCONNECT)
    return Packet(UNKNOWN, data=body)
