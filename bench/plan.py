"""What a load-generator process is asked to do, as a JSON-able dataclass.

The orchestrator (``python -m bench``) writes one Plan to a file and starts
``python -m bench.loadgen --plan FILE`` as a separate, pinned process, so the
load generator never shares an interpreter (or a GIL) with the orchestrator or
the server, and its CPU use can be measured on its own.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CRISIS_TEXT = "I want to kill myself tonight"


@dataclass
class ClientSpec:
    """One simulated user: its token (``None`` for the yardstick) and room."""

    token: str | None
    room_id: str


@dataclass
class Plan:
    """A load to offer.

    The schedule is open-loop: sends fire at their planned times whatever the
    server's latency, so a slow server shows up as latency and backlog rather
    than as a lower offered rate (no coordinated omission).
    """

    url: str
    clients: list[ClientSpec]
    rate: float  # messages/s offered, all senders together
    duration: float  # measured window, seconds
    warmup: float = 3.0  # sends before the window, not measured
    drain: float = 5.0  # max wait after the window for acks/deliveries
    schedule: str = "poisson"  # "poisson" or "uniform"
    client_impl: str = "lean"  # "lean" or "socketio"
    server_pid: int | None = None  # its process tree's CPU and RSS are reported
    counselor_token: str | None = None  # set: measure alert:new latency
    crisis_every: int = 200  # every Nth send carries CRISIS_TEXT (0: never)
    help_every: int = 200  # every Nth send is a help:request instead, halfway between crises (0: never)
    connect_concurrency: int = 50
    connect_timeout: float = 20.0
    ack_timeout: float = 20.0
    seed: int = 1
    source_ips: list[str] = field(default_factory=list)  # loopback addresses to bind

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Plan:
        raw: dict[str, Any] = json.loads(text)
        raw["clients"] = [ClientSpec(**c) for c in raw["clients"]]
        return cls(**raw)

    def save(self, path: Path) -> None:
        path.write_text(self.to_json())

    @classmethod
    def load(cls, path: Path) -> Plan:
        return cls.from_json(path.read_text())
