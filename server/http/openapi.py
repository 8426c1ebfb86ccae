"""GET /api/openapi.json: the HTTP API as an OpenAPI 3.1 document, built from one table.

Why a table and not a hand-written JSON file: the limits and enums below are the server's
own constants (roles, languages, flag statuses, outcomes, password and name lengths), so
the document cannot drift from what the handlers validate; and the error responses every
operation shares are written once. `tests/server/test_openapi.py` checks that every route
the app registers under /api/ (and /healthz, /readyz, /metrics) is in the table and every
operation in the table is a route, and fuzzes the live server against the document.

Adding an endpoint: append one `Operation` to OPERATIONS (method, path, operation id,
summary, who may call it, its body/query/response schemas and the error statuses it adds).
Path parameters are ids; 401, 403, 404, 400 and 413 are added from the roles, the path and
the body; every operation may answer 500 and 503. The document holds no data: public.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from server.errors import ChatError
from server.models import FLAG_STATUSES, LANGUAGES, MESSAGE_STATUSES, OUTCOMES, ROLES, SEVERITY_RANK
from server.passwords import MIN_PASSWORD_LENGTH

Schema = dict[str, Any]

EVERYONE = ROLES  # any signed-in user
MODERATORS = ("counselor", "staff")
STAFF = ("staff",)
PUBLIC: tuple[str, ...] = ()  # no token needed

MAX_DISPLAY_NAME = 60  # server/http/auth_routes.py, admin_routes.py
MAX_COHORT_FIELD = 200
MAX_ROOM_NAME = 100
MAX_NOTE = 2000
MAX_AUDIT_ACTION = 64
USERNAME_PATTERN = r"^[A-Za-z0-9_.@-]{3,64}$"  # admin_routes.USERNAME


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def string(low: int | None = None, high: int | None = None, **extra: Any) -> Schema:
    schema: Schema = {"type": "string", **extra}
    if low is not None:
        schema["minLength"] = low
    if high is not None:
        schema["maxLength"] = high
    return schema


def obj(
    required: tuple[str, ...] = (), closed: bool = False, fields: dict[str, Schema] | None = None, **properties: Schema
) -> Schema:
    """A JSON object; `closed`: the server refuses fields it does not name (400)."""
    schema: Schema = {"type": "object", "properties": {**(fields or {}), **properties}}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


ID = string(24, 24, pattern="^[0-9a-fA-F]{24}$", description="24 hex digits")
TIME = string(format="date-time", description="ISO-8601 UTC with milliseconds and Z")


def _error_codes() -> list[str]:
    """Every code a ChatError subclass can carry (server/errors.py), plus none other."""
    codes: set[str] = set()
    stack: list[type[ChatError]] = [ChatError]
    while stack:
        cls = stack.pop()
        codes.add(cls.code)
        stack.extend(cls.__subclasses__())
    return sorted(codes)


COMPONENTS: dict[str, Schema] = {
    "Error": obj(
        ("error",),
        error=obj(
            ("code", "message"),
            code={"type": "string", "enum": _error_codes()},
            message={"type": "string"},
            retry_after={"type": "integer", "minimum": 1, "description": "seconds; also the Retry-After header"},
        ),
    ),
    "User": obj(("id", "display_name", "role"), id=ID, display_name={"type": "string"}, role={"enum": list(ROLES)}),
    "UserAdmin": obj(
        ("id", "display_name", "role", "username", "active", "language", "oncall", "created_at"),
        id=ID,
        display_name={"type": "string"},
        role={"enum": list(ROLES)},
        username={"type": "string"},
        active={"type": "boolean"},
        language={"enum": list(LANGUAGES)},
        oncall={"type": "boolean"},
        created_at=nullable(TIME),
    ),
    "Message": obj(
        ("id", "room_id", "cohort_id", "seq", "author", "text", "created_at", "client_id", "status"),
        id=ID,
        room_id=ID,
        cohort_id=ID,
        seq={"type": "integer"},
        author=ref("User"),
        text=nullable({"type": "string"}),
        created_at=TIME,
        client_id=nullable({"type": "string"}),
        status={"enum": list(MESSAGE_STATUSES)},
        moderation=obj(("by", "at", "reason"), by=ref("User"), at=TIME, reason=nullable({"type": "string"})),
        flag_ids=array(ID),
        severity=nullable({"enum": list(SEVERITY_RANK)}),
        categories=array({"type": "string"}),
    ),
    "Room": obj(
        ("id", "cohort_id", "cohort_name", "name", "locked", "slow_mode_seconds", "pinned"),
        id=ID,
        cohort_id=ID,
        cohort_name={"type": "string"},
        name={"type": "string"},
        locked={"type": "boolean"},
        slow_mode_seconds={"type": "integer", "minimum": 0},
        pinned=nullable(ref("Message")),
        crisis_hold={"enum": ["hold", "show", None], "description": "counselors and staff only"},
    ),
    "Flag": obj(
        ("id", "message_id", "room_id", "cohort_id", "author", "severity", "categories", "source", "status"),
        id=ID,
        message_id=ID,
        room_id=ID,
        cohort_id=ID,
        cohort_name={"type": "string"},
        author=ref("User"),
        text=nullable({"type": "string"}),
        severity={"enum": list(SEVERITY_RANK)},
        categories=array({"type": "string"}),
        matches=array(
            obj(
                ("term", "category", "start", "end"),
                term={"type": "string"},
                category={"type": "string"},
                start={"type": "integer"},
                end={"type": "integer"},
            )
        ),
        source={"enum": ["detector", "model", "counselor", "report", "help_button", "silence"]},
        reported_by=nullable(ref("User")),
        reason=nullable({"type": "string"}),
        status={"enum": list(FLAG_STATUSES)},
        escalation_level={"type": "integer", "minimum": 0},
        break_glass={"type": "boolean"},
        created_at=TIME,
        acknowledged_by=nullable(ref("User")),
        acknowledged_at=nullable(TIME),
        resolved_by=nullable(ref("User")),
        resolved_at=nullable(TIME),
        resolution=nullable(obj(("outcome",), outcome={"enum": list(OUTCOMES)}, note=nullable({"type": "string"}))),
        lexicon_version=nullable({"type": "string"}),
        score=nullable({"type": "number"}),
        help_presses={"type": "integer", "description": "help_button flags only"},
    ),
    "Cohort": obj(
        ("id", "name", "active", "member_ids", "counselor_ids"),
        id=ID,
        name={"type": "string"},
        program=nullable({"type": "string"}),
        schedule=nullable({"type": "string"}),
        start_date=nullable({"type": "string"}),
        end_date=nullable({"type": "string"}),
        active={"type": "boolean"},
        timezone=nullable({"type": "string", "description": "IANA name; null: the server's CLINIC_TZ"}),
        member_ids=array(ID),
        counselor_ids=array(ID),
    ),
    "AuditEntry": obj(
        ("id", "at", "actor", "action", "target", "origin", "details"),
        id=ID,
        at=TIME,
        actor=nullable(
            obj(("id", "display_name", "role"), id=ID, display_name={"type": "string"}, role={"type": "string"})
        ),
        action={"type": "string"},
        target=obj(("type", "id"), type={"type": "string"}, id=nullable({"type": "string"})),
        origin=obj(("ip", "user_agent"), ip=nullable({"type": "string"}), user_agent=nullable({"type": "string"})),
        details={"type": "object"},
    ),
}

# Request bodies, as the handlers validate them.
COHORT_TEXT = nullable(string(0, MAX_COHORT_FIELD))
COHORT_FIELDS: dict[str, Schema] = {
    "name": string(1, MAX_COHORT_FIELD),
    "program": COHORT_TEXT,
    "schedule": COHORT_TEXT,
    "start_date": COHORT_TEXT,
    "end_date": COHORT_TEXT,
    "active": {"type": "boolean"},
    "timezone": nullable(string(1, 64)),
}
PASSWORD = string(MIN_PASSWORD_LENGTH, 200)

STATUS_TEXT = {
    200: "OK",
    201: "Created",
    204: "Done (no body)",
    400: "invalid: the body, a query parameter or a value is not acceptable",
    401: "unauthorized or token_expired: no token, or a bad, expired or revoked one",
    403: "forbidden: the caller's role or cohorts do not allow it",
    404: "not_found",
    408: "invalid: the body arrived too slowly (HTTP_BODY_SECONDS); the connection is closed",
    409: "conflict",
    413: "too_large: the body is over 256 KB",
    429: "rate_limited (Retry-After header and retry_after)",
    500: "internal: a bug; logged with ids only",
    503: "unavailable: the database did not answer; nothing was stored",
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    summary: str
    roles: tuple[str, ...]
    returns: Schema | None = None  # the success body (None: none)
    ok: int = 200
    body: Schema | None = None
    query: dict[str, Schema] = field(default_factory=dict)
    errors: tuple[int, ...] = ()  # statuses beyond those derived from roles, path and body
    media_type: str = "application/json"
    optional_auth: bool = False  # public unless configured otherwise (/metrics)


OPERATIONS: list[Operation] = [
    Operation(
        "POST",
        "/api/auth/login",
        "login",
        "Sign in with a username and password; 5 failures per username and address (50 per username or "
        "address) in 5 minutes are throttled",
        PUBLIC,
        returns=obj(("token", "expires_at", "user"), token={"type": "string"}, expires_at=TIME, user=ref("User")),
        body=obj(("username", "password"), username=string(1, 100), password=string(1, 1000)),
        errors=(401, 429),
    ),
    Operation("POST", "/api/auth/logout", "logout", "Revoke this token and end its sockets", EVERYONE, ok=204),
    Operation(
        "GET",
        "/api/me",
        "getMe",
        "The caller and the rooms they may join",
        EVERYONE,
        returns=obj(
            ("user", "rooms"),
            user=nullable({**ref("User"), "description": "plus language"}),
            rooms=array(ref("Room")),
        ),
    ),
    Operation(
        "PATCH",
        "/api/me",
        "updateMe",
        "Choose the name peers see: unique in the caller's cohorts, never the username, 3 an hour",
        EVERYONE,
        returns=obj(("user",), user=nullable(ref("User"))),
        body=obj(("display_name",), closed=True, display_name=string(1, MAX_DISPLAY_NAME)),
        errors=(409, 429),
    ),
    Operation(
        "GET",
        "/api/rooms/{id}/messages",
        "roomMessages",
        "A room's history (as message:history); staff reads are audited",
        EVERYONE,
        returns=obj(("messages", "has_more"), messages=array(ref("Message")), has_more={"type": "boolean"}),
        query={"before": ID, "after": ID, "limit": {"type": "integer", "minimum": 1, "maximum": 100}},
    ),
    Operation(
        "GET",
        "/api/flags",
        "listFlags",
        "The review queue, high first then newest; each page audited as flag.list",
        MODERATORS,
        returns=obj(("flags", "next_cursor"), flags=array(ref("Flag")), next_cursor=nullable({"type": "string"})),
        query={
            "status": {"type": "string", "enum": list(FLAG_STATUSES)},
            "severity": {"type": "string", "enum": list(SEVERITY_RANK)},
            "cohort_id": ID,
            "since": TIME,
            "until": TIME,
            "limit": {"type": "integer", "minimum": 1, "maximum": 200},
            "cursor": {"type": "string"},
        },
    ),
    Operation(
        "GET",
        "/api/flags/{id}",
        "getFlag",
        "A flag with its message and 5 messages of context each side (none through break glass); audited as flag.read",
        MODERATORS,
        returns=obj(
            ("flag", "message", "context"),
            flag=ref("Flag"),
            message=nullable(ref("Message")),
            context=obj(("before", "after"), before=array(ref("Message")), after=array(ref("Message"))),
        ),
    ),
    Operation(
        "POST",
        "/api/flags/{id}/acknowledge",
        "acknowledgeFlag",
        "Acknowledge a flag (stops its escalation)",
        MODERATORS,
        returns=obj(("flag",), flag=ref("Flag")),
        errors=(409,),
    ),
    Operation(
        "POST",
        "/api/flags/{id}/resolve",
        "resolveFlag",
        "Resolve a flag with an outcome",
        MODERATORS,
        returns=obj(("flag",), flag=ref("Flag")),
        body=obj(("outcome",), outcome={"enum": list(OUTCOMES)}, note=nullable(string(0, MAX_NOTE))),
        errors=(409,),
    ),
    Operation(
        "GET",
        "/api/audit",
        "listAudit",
        "The audit trail, newest first (read only: no endpoint changes it)",
        STAFF,
        returns=obj(
            ("entries", "next_cursor"), entries=array(ref("AuditEntry")), next_cursor=nullable({"type": "string"})
        ),
        query={
            "actor_id": ID,
            "action": string(0, MAX_AUDIT_ACTION),
            "since": TIME,
            "until": TIME,
            "limit": {"type": "integer", "minimum": 1, "maximum": 200},
            "cursor": ID,
        },
    ),
    Operation(
        "GET",
        "/api/reports/lexicon",
        "lexiconReport",
        "Per lexicon term: flags and false positives",
        STAFF,
        returns=obj(
            ("terms",),
            terms=array(
                obj(
                    ("term", "category", "flags", "false_positives", "false_positive_rate"),
                    term={"type": "string"},
                    category={"type": "string"},
                    flags={"type": "integer"},
                    false_positives={"type": "integer"},
                    false_positive_rate={"type": "number"},
                )
            ),
        ),
    ),
    Operation(
        "GET",
        "/api/cohorts",
        "listCohorts",
        "Every cohort; audited as admin.cohorts_read",
        STAFF,
        returns=obj(("cohorts",), cohorts=array(ref("Cohort"))),
    ),
    Operation(
        "POST",
        "/api/cohorts",
        "createCohort",
        "Create a cohort",
        STAFF,
        ok=201,
        returns=ref("Cohort"),
        body=obj(("name",), closed=True, fields=COHORT_FIELDS),
    ),
    Operation(
        "PATCH",
        "/api/cohorts/{id}",
        "updateCohort",
        "Change a cohort (a new name reaches its rooms)",
        STAFF,
        returns=ref("Cohort"),
        body=obj(closed=True, fields=COHORT_FIELDS),
    ),
    Operation(
        "POST",
        "/api/cohorts/{id}/rooms",
        "createRoom",
        "Add a room to a cohort",
        STAFF,
        ok=201,
        returns=ref("Room"),
        body=obj(("name",), name=string(1, MAX_ROOM_NAME)),
    ),
    *(
        Operation(
            method,
            f"/api/cohorts/{{id}}/{kind}/{{user_id}}",
            f"{verb}Cohort{kind.title()[:-1]}",
            f"{verb.title()} a {role} {'to' if verb == 'add' else 'from'} a cohort (takes effect on live sockets)",
            STAFF,
            ok=204,
            errors=(400,),  # the user is not a {role}
        )
        for kind, role in (("members", "patient"), ("counselors", "counselor"))
        for method, verb in (("POST", "add"), ("DELETE", "remove"))
    ),
    Operation(
        "PATCH",
        "/api/rooms/{id}",
        "updateRoom",
        "Rename a room or set its crisis policy (null: the server's CRISIS_HOLD)",
        STAFF,
        returns=ref("Room"),
        body=obj(closed=True, name=string(1, MAX_ROOM_NAME), crisis_hold={"enum": ["hold", "show", None]}),
    ),
    Operation(
        "GET",
        "/api/users",
        "listUsers",
        "Every account; audited as admin.users_read",
        STAFF,
        returns=obj(("users",), users=array(ref("UserAdmin"))),
    ),
    Operation(
        "POST",
        "/api/users",
        "createUser",
        "Create an account (a patient without a display name gets a generated pseudonym; counselors and staff "
        "need one; without a password the account cannot sign in by password)",
        STAFF,
        ok=201,
        returns=ref("UserAdmin"),
        body=obj(
            ("username", "role"),
            username=string(3, 64, pattern=USERNAME_PATTERN),
            role={"enum": list(ROLES)},
            display_name=nullable(string(0, MAX_DISPLAY_NAME)),
            password=nullable(PASSWORD),
            language=nullable({"enum": list(LANGUAGES)}),
        ),
        errors=(409,),
    ),
    Operation(
        "PATCH",
        "/api/users/{id}",
        "updateUser",
        "Change an account; deactivating it or changing its role ends its sessions",
        STAFF,
        returns=ref("UserAdmin"),
        body=obj(
            display_name=string(1, MAX_DISPLAY_NAME),
            role={"enum": list(ROLES)},
            language={"enum": list(LANGUAGES)},
            password=nullable({**PASSWORD, "description": "null: the account can no longer sign in by password"}),
            active={"type": "boolean"},
        ),
    ),
    Operation(
        "GET",
        "/api/feedback/export",
        "exportFeedback",
        "Counselors' labels as training examples (text only); audited as feedback.export",
        STAFF,
        returns=obj(
            ("examples",),
            examples=array(
                obj(
                    ("id", "text", "severity", "category", "lang", "kind", "source"),
                    id={"type": "string"},
                    text={"type": "string"},
                    severity={"enum": [*SEVERITY_RANK, "none"]},
                    category=nullable({"type": "string"}),
                    lang={"type": "string"},
                    kind={"enum": ["counselor_concern", "false_positive"]},
                    source={"const": "feedback"},
                )
            ),
        ),
    ),
    Operation(
        "GET",
        "/api/me/checkins",
        "myCheckins",
        "The patient's own daily check-ins",
        ("patient",),
        returns=obj(("checkins", "days", "today", "timezone")),
        query={"days": {"type": "integer", "minimum": 1, "maximum": 90}},
    ),
    Operation(
        "GET",
        "/api/cohorts/{id}/checkins",
        "cohortCheckins",
        "A cohort's check-ins, a series per patient; audited as checkin.read",
        MODERATORS,
        returns=obj(("cohort", "today", "days", "patients")),
        query={"days": {"type": "integer", "minimum": 1, "maximum": 90}},
    ),
    Operation(
        "GET",
        "/api/reports/safety",
        "safetyReport",
        "The clinic's safety dashboard, aggregated (no message text); audited",
        STAFF,
        returns=obj(
            ("generated_at", "weeks", "week_starts", "period", "ack", "flags", "now", "help_requests", "checkins")
        ),
        query={"weeks": {"type": "integer", "minimum": 1, "maximum": 52}},
    ),
    Operation("GET", "/api/openapi.json", "openapi", "This document", PUBLIC, returns={"type": "object"}),
    Operation(
        "GET", "/healthz", "healthz", "The process is alive", PUBLIC, returns=obj(("status",), status={"const": "ok"})
    ),
    Operation(
        "GET",
        "/readyz",
        "readyz",
        "The database answers (503 otherwise); status degraded when the semantic detector is down",
        PUBLIC,
        returns=obj(("status", "detection"), status={"enum": ["ready", "degraded"]}, detection={"type": "string"}),
    ),
    Operation(
        "GET",
        "/metrics",
        "metrics",
        "Prometheus text; needs a staff token when METRICS_PUBLIC=0",
        PUBLIC,
        returns={"type": "string"},
        media_type="text/plain",
        optional_auth=True,
    ),
]

PATH_PARAMETER = re.compile(r"\{(\w+)\}")


def _error(status: int) -> Schema:
    return {"description": STATUS_TEXT[status], "content": {"application/json": {"schema": ref("Error")}}}


def _operation(op: Operation) -> Schema:
    statuses = {500, 503, *op.errors}
    if op.roles or op.optional_auth:
        statuses.add(401)
    if op.optional_auth or (op.roles and set(op.roles) != set(ROLES)):
        statuses.add(403)
    names = PATH_PARAMETER.findall(op.path)
    if names:
        statuses.add(404)
    if op.body is not None or op.query:
        statuses.add(400)
    if op.body is not None:
        statuses.update((408, 413))
    success: Schema = {"description": STATUS_TEXT[op.ok]}
    if op.returns is not None:
        success["content"] = {op.media_type: {"schema": op.returns}}
    out: Schema = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "x-roles": list(op.roles) or ["anyone"],
        "responses": {str(op.ok): success, **{str(s): _error(s) for s in sorted(statuses)}},
    }
    parameters = [{"name": n, "in": "path", "required": True, "schema": ID} for n in names]
    parameters += [{"name": n, "in": "query", "required": False, "schema": s} for n, s in op.query.items()]
    if parameters:
        out["parameters"] = parameters
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.body}}}
    if op.optional_auth:
        out["security"] = [{}, {"bearer": []}]
    elif not op.roles:
        out["security"] = []
    if op.path == "/readyz":  # the one success-or-503 answer that is not the error shape alone
        out["responses"]["503"] = {
            "description": "the database does not answer",
            "content": {
                "application/json": {
                    "schema": obj(
                        ("status", "detection", "error"),
                        status={"const": "unavailable"},
                        detection={"type": "string"},
                        error=COMPONENTS["Error"]["properties"]["error"],
                    )
                }
            },
        }
    return out


def document() -> Schema:
    paths: dict[str, Schema] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "IOP cohort chat HTTP API",
            "version": "1",
            "description": 'See docs/protocol.md. Errors are {"error": {"code", "message", "retry_after"?}}; '
            "x-roles names who may call each operation.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": COMPONENTS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "POST /api/auth/login, or the clinic's identity provider (JWT_PUBLIC_KEY)",
                }
            },
        },
    }


DOCUMENT = document()


async def serve(request: web.Request) -> web.Response:
    return web.json_response(DOCUMENT)


def setup(app: web.Application) -> None:
    app.router.add_get("/api/openapi.json", serve)
