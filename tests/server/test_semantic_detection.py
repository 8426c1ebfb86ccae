"""The semantic layer on the message path: model flags end to end, the model failing,
and a late verdict under overload."""

from __future__ import annotations

from tests.conftest import World

# Passive ideation with no lexicon term (checked below, so the test cannot pass on the lexicon).
PASSIVE = "honestly it would be easier if i just didn't wake up tomorrow, everyone would move on"


async def oncall(world: World, user):  # type: ignore[no-untyped-def]
    probe = await world.connect(user)
    await probe.ok("oncall:set", {"on": True})
    return probe


def test_the_passive_message_has_no_lexicon_term() -> None:
    from moderation import scan

    assert scan(PASSIVE).severity is None


async def test_passive_ideation_without_a_keyword_raises_a_model_flag_and_alerts(world_factory) -> None:  # type: ignore[no-untyped-def]
    world: World = await world_factory(semantic_detection=True)
    room, (alice, bob, counselor) = await world.scene("patient", "patient", "counselor")
    on_call = await oncall(world, counselor)
    author = await world.connect(alice, join=room)
    peer = await world.connect(bob, join=room)

    sent = (await author.send(room.id, PASSIVE))["message"]

    alert = await on_call.next("alert:new")
    assert alert["message_id"] == sent["id"] and alert["source"] == "model"
    assert alert["matches"] == [] and alert["severity"] in ("medium", "high")
    assert alert["categories"] == ["suicide"] and 0 < alert["score"] <= 1
    assert "flag_ids" not in sent  # the author never sees detector output
    if alert["severity"] == "medium":
        assert (await peer.next("message:new"))["id"] == sent["id"]


async def test_when_the_model_cannot_load_chat_goes_on_the_lexicon_flags_and_readyz_says_degraded(
    world_factory,  # type: ignore[no-untyped-def]
) -> None:
    world: World = await world_factory(semantic_detection=True, model_dir="/nonexistent/model")
    status, body = await world.http("GET", "/readyz")
    assert status == 200 and body == {"status": "degraded", "detection": "failed"}
    room, (alice, bob, counselor) = await world.scene("patient", "patient", "counselor")
    on_call = await oncall(world, counselor)
    author = await world.connect(alice, join=room)
    peer = await world.connect(bob, join=room)

    await author.send(room.id, "see you all thursday")
    assert (await peer.next("message:new"))["text"] == "see you all thursday"
    held = (await author.send(room.id, "I want to kill myself tonight"))["message"]
    alert = await on_call.next("alert:new")
    assert alert["message_id"] == held["id"] and alert["source"] == "detector" and alert["severity"] == "high"
    status, metrics = await world.http("GET", "/metrics")
    assert "iopchat_semantic_up 0" in metrics


async def test_readyz_reports_detection_ready_when_the_model_is_loaded(world_factory) -> None:  # type: ignore[no-untyped-def]
    world: World = await world_factory(semantic_detection=True)
    status, body = await world.http("GET", "/readyz")
    assert status == 200 and body == {"status": "ready", "detection": "ready"}


# A plan split over lines: each line alone is unflagged, the last one looks clean to the
# cheap layers, and the author's recent lines together are high risk.
SPLIT_PLAN = ("i wrote my will last night", "nobody is home till monday", "it's settled")


async def test_a_plan_split_over_several_lines_is_flagged_on_the_last_line(world_factory) -> None:  # type: ignore[no-untyped-def]
    world: World = await world_factory(semantic_detection=True)
    room, (alice, counselor) = await world.scene("patient", "counselor")
    on_call = await oncall(world, counselor)
    author = await world.connect(alice, join=room)

    sent = [(await author.send(room.id, line))["message"] for line in SPLIT_PLAN]

    alert = await on_call.next("alert:new")
    assert alert["message_id"] == sent[-1]["id"] and alert["source"] == "model" and alert["severity"] == "high"
    assert [m["status"] for m in sent[:-1]] == ["visible", "visible"]
    if world.server.ctx.detection.stats.deferred == 0:  # the model had time: held before anyone saw it
        assert sent[-1]["status"] == "held"
    else:  # a busy machine (CI under load) deferred the verdict: the message is withdrawn right after
        assert sent[-1]["status"] == "visible"
        assert (await author.next("message:updated"))["status"] == "held"


async def test_under_overload_a_late_verdict_withdraws_the_message_from_peers_and_alerts(world_factory) -> None:  # type: ignore[no-untyped-def]
    """A queue bound of 0 is a server that is always over capacity: every message the
    cheap layers find clean goes out first and is judged right after."""
    from moderation import load_semantic

    semantic = load_semantic()
    assert semantic.cheap_risk(SPLIT_PLAN[-1]) < semantic.triage_threshold  # waved through at once...
    assert semantic.detect([SPLIT_PLAN[-1]], [SPLIT_PLAN[:-1]])[0].severity == "high"  # ...then flagged

    world: World = await world_factory(semantic_detection=True, semantic_queue_limit=0)
    room, (alice, bob, counselor) = await world.scene("patient", "patient", "counselor")
    on_call = await oncall(world, counselor)
    author = await world.connect(alice, join=room)
    peer = await world.connect(bob, join=room)

    for line in SPLIT_PLAN:
        sent = (await author.send(room.id, line))["message"]
        assert sent["status"] == "visible"
        assert (await peer.next("message:new"))["id"] == sent["id"]  # out first...

    alert = await on_call.next("alert:new")  # ...judged right after
    assert alert["message_id"] == sent["id"] and alert["source"] == "model" and alert["severity"] == "high"
    withdrawn = await peer.next("message:updated")
    assert withdrawn["id"] == sent["id"] and withdrawn["text"] is None and withdrawn["status"] == "hidden"
    assert (await author.next("message:updated"))["status"] == "held"
    assert (await author.next("crisis:resources"))["message_id"] == sent["id"]
    history = await peer.ok("message:history", {"room_id": str(room.id)})
    assert sent["id"] not in [m["id"] for m in history["messages"]]
    status, metrics = await world.http("GET", "/metrics")
    assert "iopchat_semantic_late_flags_total 1" in metrics


async def test_a_lexicon_crisis_never_waits_behind_the_models_queue() -> None:
    """The model is stuck on a batch: a message the lexicon calls high still gets its
    verdict at once, while an unsure one waits for the model."""
    import asyncio
    import threading

    from moderation import Detector, SemanticDetector, load_lexicon, load_semantic, scan
    from server.actions.detection import DetectionService

    armed, entered, release = threading.Event(), threading.Event(), threading.Event()
    real = load_semantic()

    class Stuck(SemanticDetector):
        def __init__(self) -> None:
            self.version, self.triage_threshold = real.version, real.triage_threshold

        def cheap_risk(self, text: str) -> float:
            return real.cheap_risk(text)

        def detect(self, texts, contexts=None):  # type: ignore[no-untyped-def]
            if armed.is_set():
                entered.set()
                release.wait(30)
            return real.detect(texts, contexts)

    service = DetectionService(Detector(load_lexicon()), loader=Stuck)
    await service.start()
    armed.set()
    try:
        unsure = asyncio.ensure_future(service.assess("i wrote my will last night"))
        assert await asyncio.to_thread(entered.wait, 10)  # the model is busy with it
        crisis = await asyncio.wait_for(service.assess("I want to kill myself tonight"), timeout=5)
        assert crisis.detection.severity == scan("I want to kill myself tonight").severity == "high"
        assert not unsure.done()
    finally:
        release.set()
    assert (await unsure).detection == real.detect(["i wrote my will last night"])[0]
    await service.stop()
