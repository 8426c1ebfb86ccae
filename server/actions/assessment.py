"""The verdict on a message and what it means: scan (lexicon and model, via the detection
service) and the room's hold policy. A detector failure holds the message (fail toward a human)."""

from __future__ import annotations

import logging
import time

from moderation import Decision, Detection, decide_policy, fail_safe
from server.actions.detection import Verdict
from server.context import AppContext
from server.models import Room

log = logging.getLogger(__name__)


async def assess(
    ctx: AppContext, text: str, room: Room | None, context: tuple[str, ...] = ()
) -> tuple[Detection | None, Decision, Verdict | None]:
    """Scan a message and decide its fate: (detection, decision, the detector's verdict).
    `room` is None for a text that is never posted (a check-in note): the server's policy.

    `verdict.deferred` says the model judges the message after it goes out.

    A detector failure holds the message and raises a flag (fail toward a human)."""
    started = time.perf_counter()
    try:
        verdict = await ctx.detection.assess(text, context)
    except Exception:
        log.exception("detector failed on a text in room %s; flagging it for a counselor", room and room.id)
        return None, fail_safe(), None
    ctx.metrics.detector_seconds.observe(time.perf_counter() - started)
    return verdict.detection, decide(ctx, verdict.detection, room), verdict


def decide(ctx: AppContext, detection: Detection, room: Room | None) -> Decision:
    hold_policy = (room.crisis_hold if room else None) or ctx.config.crisis_hold
    return decide_policy(
        detection.severity, hold_policy=hold_policy, resources_for_medium=ctx.config.crisis_resources_for_medium
    )
