"""Detection on the message path: the lexicon on the event loop, the model off it.

Every message is scanned by the lexicon at once (microseconds). The semantic model
(moderation.semantic, tens of milliseconds a message) runs in one worker thread at a
lower OS priority, in batches, so the chat's event loop keeps the core it needs. While
the model's queue is within its bound, every message waits for the combined verdict
before anyone sees it. Past the bound the server is over capacity: a message the cheap
layers (lexicon and n-gram head) find clearly clean goes out on that verdict and is
judged right after; a late flag then withdraws it from peers and raises the alert
(`late` callback, see chat.py).

If the model cannot load, or fails, the lexicon goes on alone, an error is logged, and
`state` says "failed" so /readyz reports detection as degraded: never a silent fail-open.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bson import ObjectId

from moderation import Detection, Detector, ModelUnavailable, SemanticDetector, load_semantic

log = logging.getLogger(__name__)

CONTEXT_MESSAGES = 3  # the author's last few unflagged lines in the room...
CONTEXT_SECONDS = 600.0  # ...within ten minutes are scored together with the new one
BATCH = 16
LATER_BATCH = 4
# How long a message may wait for the model before the server counts itself over
# capacity: a message the cheap layers find clean waits at most CLEAN_WAIT, an unsure
# one (rare: the cheap layers' risk is above the triage threshold) at most UNSURE_WAIT.
# Past that the message goes out on the lexicon's verdict and is judged right after.
CLEAN_WAIT_SECONDS = 0.25
UNSURE_WAIT_SECONDS = 2.0
DEFERRED_LIMIT = 2000  # judged-later messages kept under sustained overload; more are counted, not judged
MODEL_NICE = 19  # the model thread takes only what the event loop leaves: chat first
CONTEXT_KEYS = 10_000


@dataclass(frozen=True)
class Verdict:
    detection: Detection
    deferred: bool = False  # judged by the cheap layers now; the model's verdict comes later
    urgent: bool = False  # deferred though the cheap layers were unsure: judged before clean ones


@dataclass
class _Job:
    text: str
    context: tuple[str, ...]
    future: asyncio.Future[Detection] | None = None  # None: a deferred job, reported via `late`
    late_key: object = None


@dataclass
class DetectionStats:
    judged: int = 0
    deferred: int = 0
    overflow: int = 0
    late_flags: int = 0
    skipped: int = 0
    failures: int = 0
    model_seconds: deque[float] = field(default_factory=lambda: deque(maxlen=1000))


LateHandler = Callable[[object, Detection], Awaitable[None]]


class DetectionService:
    def __init__(
        self,
        lexical: Detector,
        *,
        enabled: bool = True,
        model_dir: str | None = None,
        queue_limit: int = 32,
        clock: Callable[[], float] = time.monotonic,
        loader: Callable[[], SemanticDetector] | None = None,
    ) -> None:
        self._lexical = lexical
        self._enabled = enabled
        self._model_dir = model_dir
        self._queue_limit = queue_limit
        self._clock = clock
        self._loader = loader or (lambda: _shared_semantic(model_dir, lexical))
        self._semantic: SemanticDetector | None = None
        self.state = "off" if not enabled else "loading"
        self.stats = DetectionStats()
        self._urgent: deque[_Job] = deque()
        self._later: deque[_Job] = deque()
        self._wake = asyncio.Event()
        self._executor: ThreadPoolExecutor | None = None
        self._worker: asyncio.Task[None] | None = None
        self._recent: OrderedDict[tuple[ObjectId, ObjectId], deque[tuple[float, str]]] = OrderedDict()
        self.late: LateHandler | None = None
        self._in_model = 0
        self._batch_started = 0.0
        self._per_message = 0.05  # seconds; updated from every batch (moving average)

    # ---- life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        if not self._enabled:
            return
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="semantic", initializer=_lower_priority)
        loop = asyncio.get_running_loop()
        try:
            self._semantic = await loop.run_in_executor(self._executor, self._loader)
        except ModelUnavailable as exc:
            self.state = "failed"
            log.error("semantic detection unavailable, the lexicon alone is judging messages: %s", exc)
            return
        started = time.perf_counter()
        await loop.run_in_executor(self._executor, self._semantic.detect, ["warming up the model"])
        self._per_message = time.perf_counter() - started
        self.state = "ready"
        self._worker = asyncio.create_task(self._work(), name="semantic-detector")

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    @property
    def degraded(self) -> bool:
        return self.state == "failed"

    @property
    def queue_length(self) -> int:
        return len(self._urgent) + len(self._later)

    def expected_wait(self) -> float:
        """Seconds a message queued now would wait: the urgent queue plus the rest of the
        batch in the model, at the model's recent pace (which includes its share of a busy
        core), or slower if the batch in the model is already taking longer than that."""
        per = self._per_message
        running = 0.0
        if self._in_model:
            running = time.perf_counter() - self._batch_started
            per = max(per, running / self._in_model)
        return (len(self._urgent) + 1) * per + max(0.0, self._in_model * per - running)

    # ---- the message path ---------------------------------------------------------------

    def context_for(self, room_id: ObjectId, author_id: ObjectId) -> tuple[str, ...]:
        lines = self._recent.get((room_id, author_id))
        if not lines:
            return ()
        since = self._clock() - CONTEXT_SECONDS
        return tuple(text for at, text in lines if at >= since)[-CONTEXT_MESSAGES:]

    def remember(self, room_id: ObjectId, author_id: ObjectId, text: str, flagged: bool) -> None:
        """An unflagged line becomes context for the author's next ones; a flag clears it
        (its content already reached a counselor)."""
        key = (room_id, author_id)
        if flagged:
            self._recent.pop(key, None)
            return
        lines = self._recent.setdefault(key, deque(maxlen=CONTEXT_MESSAGES))
        lines.append((self._clock(), text))
        self._recent.move_to_end(key)
        while len(self._recent) > CONTEXT_KEYS:
            self._recent.popitem(last=False)

    async def assess(self, text: str, context: Sequence[str] = ()) -> Verdict:
        """The verdict to act on now. Raises only if the lexicon itself fails."""
        lexical = self._lexical.scan(text)
        if self.state != "ready" or lexical.severity == "high":
            # A high lexicon verdict is already the strongest there is: the model could only
            # add a score, so the crisis alert never waits behind the model's queue.
            return Verdict(lexical)
        wait = self.expected_wait()
        if wait > CLEAN_WAIT_SECONDS or len(self._urgent) >= self._queue_limit:
            if not lexical.flagged and self._looks_clean(text):
                self.stats.deferred += 1
                return Verdict(lexical, deferred=True)
            if wait > UNSURE_WAIT_SECONDS or len(self._urgent) >= self._queue_limit * 4:
                # Far over capacity even for risky-looking messages: waiting longer would stall
                # the chat. Act on the lexicon now; the model judges these first when it can.
                self.stats.deferred += 1
                self.stats.overflow += 1
                return Verdict(lexical, deferred=True, urgent=True)
        future: asyncio.Future[Detection] = asyncio.get_running_loop().create_future()
        job = _Job(text, tuple(context), future)
        self._urgent.append(job)
        self._wake.set()
        try:
            return Verdict(await asyncio.wait_for(asyncio.shield(future), UNSURE_WAIT_SECONDS))
        except ModelUnavailable:
            return Verdict(lexical)
        except TimeoutError:
            # The model fell behind after this message was queued (its core is busy): no
            # message waits longer than this. It goes out on the lexicon's verdict and is
            # judged first when the model frees.
            future.cancel()
            if job in self._urgent:
                self._urgent.remove(job)
            self.stats.deferred += 1
            self.stats.overflow += 1
            return Verdict(lexical, deferred=True, urgent=True)

    def judge_later(self, key: object, text: str, context: Sequence[str] = (), *, first: bool = False) -> None:
        """Queue a message that went out on the cheap verdict; `late` hears of a flag.

        `first`: the cheap layers were unsure of it (overflow), so it is judged before
        the messages they found clean."""
        if len(self._later) >= DEFERRED_LIMIT:
            self.stats.skipped += 1
            log.warning("semantic backlog full: a message was judged by the lexicon alone")
            return
        job = _Job(text, tuple(context), late_key=key)
        if first:
            self._later.appendleft(job)
        else:
            self._later.append(job)
        self._wake.set()

    def _looks_clean(self, text: str) -> bool:
        semantic = self._semantic
        return semantic is not None and semantic.cheap_risk(text) < semantic.triage_threshold

    # ---- the worker ---------------------------------------------------------------------

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._urgent and not self._later:
                self._wake.clear()
                await self._wake.wait()
            batch = [self._urgent.popleft() for _ in range(min(BATCH, len(self._urgent)))]
            if not batch:  # small batches of judged-later work, so that urgent work gets in soon
                batch = [self._later.popleft() for _ in range(min(LATER_BATCH, len(self._later)))]
            batch = [job for job in batch if job.future is None or not job.future.done()]
            if not batch:
                continue
            started = self._batch_started = time.perf_counter()
            self._in_model = len(batch)
            try:
                results = await loop.run_in_executor(self._executor, self._detect, batch)
            except ModelUnavailable as exc:
                self.stats.failures += 1
                self.state = "failed"
                log.error("semantic model failed; the lexicon alone judges messages from now on: %s", exc)
                self._fail_all(batch, exc)
                return
            elapsed = time.perf_counter() - started
            self._in_model = 0
            self.stats.model_seconds.append(elapsed)
            self._per_message = 0.8 * self._per_message + 0.2 * (elapsed / len(batch))
            self.stats.judged += len(batch)
            for job, detection in zip(batch, results, strict=True):
                if job.future is not None:
                    if not job.future.done():
                        job.future.set_result(detection)
                elif detection.flagged and self.late is not None:
                    self.stats.late_flags += 1
                    try:
                        await self.late(job.late_key, detection)
                    except Exception:
                        log.exception("acting on a late verdict failed")

    def _detect(self, batch: list[_Job]) -> list[Detection]:
        assert self._semantic is not None
        return self._semantic.detect([j.text for j in batch], [j.context for j in batch])

    def _fail_all(self, batch: list[_Job], exc: ModelUnavailable) -> None:
        for job in [*batch, *self._urgent]:
            if job.future is not None and not job.future.done():
                job.future.set_exception(exc)
        self._urgent.clear()
        self._later.clear()


def _lower_priority() -> None:
    """Runs in the model's thread: on Linux a thread has its own nice value."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), MODEL_NICE)
    except (OSError, AttributeError):
        pass


_shared: dict[tuple[str | None, int], SemanticDetector] = {}
_shared_lock = threading.Lock()


def _shared_semantic(model_dir: str | None, lexical: Detector) -> SemanticDetector:
    """One loaded model per process (the weights are read-only and mapped once)."""
    with _shared_lock:
        key = (model_dir, id(lexical))
        if key not in _shared:
            _shared[key] = load_semantic(model_dir, threads=1, lexical=lexical)
        return _shared[key]
