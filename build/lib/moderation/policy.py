"""What happens to a message once the detector has looked at it: the product rules in
one place (PRODUCT.md "What must be true" 1 and 3).

- Every match becomes a stored flag and a real-time alert to counselors.
- High severity: the author is shown crisis resources at once, and the message is held
  from peers when the room's policy is `hold` (the default) until a counselor releases it.
- Medium severity shows resources only when the clinic turns that on.
- If detection itself fails, we fail toward a human: hold the message and raise a high
  flag, never a silent allow.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    status: str  # "visible" or "held"
    flag: bool
    send_resources: bool


def decide(severity: str | None, *, hold_policy: str, resources_for_medium: bool) -> Decision:
    if severity is None:
        return Decision(status="visible", flag=False, send_resources=False)
    if severity == "high":
        return Decision(status="held" if hold_policy == "hold" else "visible", flag=True, send_resources=True)
    return Decision(status="visible", flag=True, send_resources=severity == "medium" and resources_for_medium)


def fail_safe() -> Decision:
    return Decision(status="held", flag=True, send_resources=True)
