"""The OpenAPI document (server/http/openapi.py) tells the truth about the HTTP API.

Two promises: every route the app registers under /api/ (and /healthz, /readyz, /metrics)
is documented and every documented operation is a route, read from the router itself;
and schemathesis, fuzzing the live server from the document as each role (no token,
patient, counselor, staff), never gets a 5xx or a traceback, every refusal has the
documented error shape, a role the document does not name never succeeds, and nothing is
stored from a refused input (the database is fingerprinted around every refused request).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import bson
import pytest
import requests
import schemathesis
from aiohttp import web
from bson import ObjectId
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pymongo import MongoClient
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server.app import create_app
from server.errors import ChatError
from server.http.openapi import COMPONENTS, DOCUMENT, OPERATIONS
from server.models import User
from server.store.failures import is_outage
from tests.conftest import Cohort, World, make_config

CRISIS = "I want to kill myself tonight"
DOCUMENTED_OUTSIDE_API = {"/healthz", "/readyz", "/metrics"}
# Examples per (operation, role, generation mode): bounded so the fuzz stays under a minute
# on this shared 2-core machine; derandomized, so every run sends the same cases. A role
# an operation is not for is refused before its input is read: one example shows that.
EXAMPLES = {GenerationMode.POSITIVE: 4, GenerationMode.NEGATIVE: 4}
EXAMPLES_FOR_OTHER_ROLES = {GenerationMode.POSITIVE: 1}
ROLES = ("anyone", "patient", "counselor", "staff")  # "anyone": no token at all
# Written on purpose by a refused request: sign-in throttling counts failures before the
# password is checked (SECURITY.md), and failed sign-ins are audited.
EXPECTED_ON_REFUSAL = {"login_failures"}
AUDIT_ON_REFUSAL = {"auth.login_failed"}


# ---- the document covers the router, and only the router -------------------------------

LITERAL_ALTERNATIVES = re.compile(r"\(\?P<(\w+)>([\w|]+)\)")


def routes_of(app: web.Application) -> set[tuple[str, str]]:
    """(method, path) of every route, with `{kind:members|counselors}` expanded into its
    literal alternatives (each is its own operation in the document). HEAD routes are the
    automatic twins of GET routes."""
    found: set[tuple[str, str]] = set()
    for route in app.router.routes():
        if route.method in ("HEAD", "*") or route.resource is None:
            continue
        info = route.resource.get_info()
        paths = [info.get("path") or info.get("formatter") or info.get("prefix", "")]
        pattern = info.get("pattern")
        if pattern is not None:
            for name, alternatives in LITERAL_ALTERNATIVES.findall(pattern.pattern):
                paths = [p.replace(f"{{{name}}}", alt) for p in paths for alt in alternatives.split("|")]
        found.update((route.method, path) for path in paths)
    return found


def documented() -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in DOCUMENT["paths"].items() for method in item}


def test_every_api_route_is_documented_and_every_documented_operation_is_a_route() -> None:
    app = create_app(make_config("mongodb://127.0.0.1:1", "unused"))
    served = {(m, p) for m, p in routes_of(app) if p.startswith("/api/") or p in DOCUMENTED_OUTSIDE_API}
    assert served, "no routes found: the router was not read"
    assert sorted(served - documented()) == [], "routes missing from server/http/openapi.py"
    assert sorted(documented() - served) == [], "documented operations the app does not serve"


def test_every_error_code_the_server_has_is_in_the_error_schema() -> None:
    codes, stack = set(), [ChatError]
    while stack:
        cls = stack.pop()
        codes.add(cls.code)
        stack.extend(cls.__subclasses__())
    assert set(COMPONENTS["Error"]["properties"]["error"]["properties"]["code"]["enum"]) == codes


def test_operation_ids_are_unique() -> None:
    ids = [op.operation_id for op in OPERATIONS]
    assert len(ids) == len(set(ids))


async def test_the_document_is_served_without_a_token(world: World) -> None:
    status, body = await world.http("GET", "/api/openapi.json")
    assert status == 200 and body == DOCUMENT


# ---- fuzzing the live server -----------------------------------------------------------


@dataclass
class Tally:
    cases: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    by_operation: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


class Fingerprint:
    """What the database holds, as one value: a hash of every document of the collections
    a request can change, and the size of the append-only ones (the audit trail grows by
    design on reads, so it is counted without the entries a refusal may write)."""

    APPEND_ONLY = {"audit", "revoked_tokens", "activity_days", "undelivered_messages", "escalation_claims"}

    def __init__(self, uri: str, db_name: str) -> None:
        self.client: MongoClient[dict[str, Any]] = MongoClient(uri, serverSelectionTimeoutMS=5000)
        self.db = self.client[db_name]

    def take(self) -> dict[str, str]:
        state: dict[str, str] = {}
        for name in sorted(self.db.list_collection_names()):
            if name in EXPECTED_ON_REFUSAL:
                continue
            if name == "audit":
                state[name] = str(self.db[name].count_documents({"action": {"$nin": sorted(AUDIT_ON_REFUSAL)}}))
            elif name in self.APPEND_ONLY:
                state[name] = str(self.db[name].count_documents({}))
            else:
                digest = hashlib.sha256()
                for doc in self.db[name].find({}).sort("_id", 1):
                    digest.update(bson.encode(doc))
                state[name] = digest.hexdigest()
        return state

    def close(self) -> None:
        self.client.close()


CLIENT_LOGGERS = ("engineio.client", "socketio.client")
ERROR_CODES = set(COMPONENTS["Error"]["properties"]["error"]["properties"]["code"]["enum"])


def error_shape_problem(response: schemathesis.Response) -> str | None:
    """schemathesis's Response: header names are lower case, values are lists."""
    try:
        body = response.json()
    except ValueError:
        return "the body is not JSON"
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or error.get("code") not in ERROR_CODES or not isinstance(error.get("message"), str):
        return f"not the error shape: {body!r}"[:300]
    if response.status_code == 429 and not response.headers.get("retry-after"):
        return "429 without Retry-After"
    return None


def path_pools(ids: dict[str, ObjectId]) -> Callable[[str], dict[str, list[str]]]:
    """Real ids for path parameters, beside the random ones schemathesis draws, so that the
    fuzz reaches past the 404. Mutations get the spare cohort's ids only: the people
    fuzzing must stay signed in and in their cohort."""
    table = {
        "/api/rooms/{id}/messages": {"id": [ids["room"]]},
        "/api/rooms/{id}": {"id": [ids["spare_room"]]},
        "/api/flags/": {"id": [ids["flag"]]},
        "/api/cohorts/{id}": {"id": [ids["spare_cohort"]], "user_id": [ids["spare_patient"], ids["spare_counselor"]]},
        "/api/users/{id}": {"id": [ids["spare_patient"], ids["spare_counselor"]]},
    }

    def pools(path: str) -> dict[str, list[str]]:
        for prefix, pool in table.items():
            if path.startswith(prefix):
                return {name: [str(i) for i in values] for name, values in pool.items()}
        return {}

    return pools


def strategy(operation: Any, mode: GenerationMode, pools: dict[str, list[str]]) -> st.SearchStrategy[Case]:
    """Path parameters drawn from the real ids or generated; in negative mode real ids are
    used only when something else (a body, a query) is there to be made invalid, so that a
    refused body meets a real resource (where a half-applied change would show)."""
    names = re.findall(r"\{(\w+)\}", operation.path)
    has_input = bool(operation.body) or any(p.location.value == "query" for p in operation.iter_parameters())
    if not names or (mode is GenerationMode.NEGATIVE and not has_input):
        return operation.as_strategy(generation_mode=mode)
    generated: list[str | None] = [] if mode is GenerationMode.NEGATIVE and pools else [None]
    fixed = st.fixed_dictionaries({n: st.sampled_from([*generated, *pools.get(n, [])] or [None]) for n in names})
    return fixed.flatmap(
        lambda chosen: operation.as_strategy(
            generation_mode=mode, path_parameters={k: v for k, v in chosen.items() if v is not None} or None
        )
    )


def can_be_negative(operation: Any) -> bool:
    return bool(operation.body) or any(True for _ in operation.iter_parameters())


def fuzz(base_url: str, tokens: dict[str, Callable[[], str | None]], fingerprint: Fingerprint, pools: Any) -> Tally:
    """Runs in a worker thread (requests is blocking; the server lives on the test's loop)."""
    schema = schemathesis.openapi.from_dict(DOCUMENT)
    roles_of = {(op.method, op.path): set(op.roles) for op in OPERATIONS}
    tally = Tally()
    session = requests.Session()
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    before: list[dict[str, str]] = [fingerprint.take()]

    def exercise(operation: Any, role: str, mode: GenerationMode, examples: int) -> None:
        allowed = roles_of[(operation.method.upper(), operation.path)]

        @settings(
            max_examples=examples,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy(operation, mode, pools(operation.path)))
        def one(case: Case) -> None:
            token = tokens[role]()
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            response = case.call(base_url=base_url, session=session, headers=headers, timeout=10)
            tally.cases += 1
            tally.by_status[response.status_code] += 1
            tally.by_operation[operation.label] += 1
            where = f"{operation.label} as {role} ({mode.value}) -> {response.status_code}"
            try:
                case.validate_response(response, checks=checks, headers=headers)
            except FailureGroup as failures:  # collected, and reported together at the end
                tally.failures.extend(f"{where}: {failure}"[:1500] for failure in failures.exceptions)
            if response.status_code < 400:
                if allowed and role not in allowed:
                    tally.failures.append(f"{where}: succeeded for a role the document excludes")
                before[0] = fingerprint.take()
                return
            problem = error_shape_problem(response)
            if problem:
                tally.failures.append(f"{where}: {problem}")
            after = fingerprint.take()
            changed = sorted(k for k in set(after) | set(before[0]) if after.get(k) != before[0].get(k))
            if changed:
                tally.failures.append(f"{where}: a refused request changed {changed}: {case.body!r}"[:600])
            before[0] = after

        one()

    for result in schema.get_all_operations():
        operation = result.ok()
        allowed = roles_of[(operation.method.upper(), operation.path)] or {"anyone"}
        for role in ROLES:
            for mode, examples in (EXAMPLES if role in allowed else EXAMPLES_FOR_OTHER_ROLES).items():
                if mode is GenerationMode.NEGATIVE and not can_be_negative(operation):
                    continue
                exercise(operation, role, mode, examples)
    session.close()
    return tally


async def flag_in(world: World, cohort: Cohort) -> ObjectId:
    alice = await world.connect(cohort.alice, join=cohort.room)
    sent = await alice.send(cohort.room.id, CRISIS)
    return (await world.stores.flags.for_message(ObjectId(sent["message"]["id"])))[0].id


# Hypothesis notices the global `random` moving while it draws a case: that is the server,
# running on the test's own thread meanwhile (pseudonyms, Socket.IO ids), not the strategy.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
async def test_fuzzing_every_operation_as_every_role_finds_no_server_error_and_stores_nothing_refused(
    world: World, cohort: Cohort, caplog: pytest.LogCaptureFixture
) -> None:
    spare_cohort = await world.cohort("Spare cohort")
    spare_room = await world.room(spare_cohort)
    spare_patient, spare_counselor = await world.user("patient"), await world.user("counselor")
    ids = {
        "room": cohort.room.id,
        "flag": await flag_in(world, cohort),
        "spare_cohort": spare_cohort,
        "spare_room": spare_room.id,
        "spare_patient": spare_patient.id,
        "spare_counselor": spare_counselor.id,
    }
    # The history stamps and activity day of the message above, now rather than mid-fuzz.
    await world.stores.messages.flush()
    await world.stores.activity.flush()
    people: dict[str, User] = {"patient": cohort.alice, "counselor": cohort.counselor, "staff": cohort.staff}
    # A fresh token per request: a fuzzed logout revokes only the token it was sent with.
    tokens: dict[str, Callable[[], str | None]] = {
        role: (lambda user=user: world.token(user)) for role, user in people.items()
    }
    tokens["anyone"] = lambda: None
    fingerprint = Fingerprint(world.server.config.mongodb_uri or "", world.server.config.mongodb_db)
    try:
        with caplog.at_level(logging.WARNING):
            tally = await asyncio.to_thread(fuzz, world.server.url, tokens, fingerprint, path_pools(ids))
    finally:
        fingerprint.close()

    # The server's own logs: test clients of earlier tests closing (engineio.client) are not it.
    logged = [
        r
        for r in caplog.records
        if (r.exc_info or r.levelno >= logging.ERROR) and not r.name.startswith(CLIENT_LOGGERS)
    ]
    # A background sweep whose query timed out because this shared machine was busy is
    # the environment, not the input (a request that timed out would be a 503, and fail).
    slow_database = [r for r in logged if r.exc_info and r.exc_info[1] is not None and is_outage(r.exc_info[1])]
    tracebacks = [r for r in logged if r not in slow_database]
    server_errors = sum(n for status, n in tally.by_status.items() if status >= 500)
    print(
        f"\nopenapi fuzz: {len(tally.by_operation)} operations, {tally.cases} cases, {server_errors} 5xx, "
        f"{len(tracebacks)} tracebacks ({len(slow_database)} background database timeouts); "
        f"statuses {dict(sorted(tally.by_status.items()))}"
    )
    assert len(tally.by_operation) == len(OPERATIONS), "an operation was never exercised"
    assert tally.failures == [], "\n\n".join(tally.failures[:20])
    assert server_errors == 0
    shown = logging.Formatter("%(name)s: %(message)s")
    assert tracebacks == [], "\n\n".join(shown.format(r) for r in tracebacks[:3])
