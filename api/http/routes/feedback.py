"""`POST /v1/webhooks/feedback`: provider events on sent messages, signature-verified, each
applied once (a redelivery changes nothing), all of a request in one transaction."""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.http.deps import SettingsDep
from core.db import session_scope
from core.errors import BackendUnavailable, ConfigurationError, McopilotError
from core.settings import Settings
from journeys.feedback import FeedbackEvent, parse_events
from journeys.feedback_store import Outcome, record_feedback
from journeys.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify, webhook_key

router = APIRouter()
MAX_BODY_BYTES = 2 * 1024 * 1024


class PayloadTooLarge(McopilotError):
    status_code = 413
    title = "Payload too large"


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if hasattr(exc, "lineno") else ""
        raise McopilotError(
            f"is not valid JSON{where}",
            field="body",
            fix="send one event object or a list of them, UTF-8 JSON",
        ) from None


def _record(settings: Settings, events: list[FeedbackEvent]) -> list[Outcome]:
    with session_scope(settings) as session:
        return record_feedback(session, events, settings=settings)


async def _body_within(request: Request, limit: int) -> bytes:
    """The body, refused (413) as soon as it is known to pass `limit`: by its Content-Length
    before anything is read, else while it streams in (nothing past the limit is kept)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(
            f"is {declared} bytes; at most {limit}", field="body", fix="split the batch"
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(
                f"is more than {limit} bytes", field="body", fix="split the batch"
            )
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/v1/webhooks/feedback")
async def receive_feedback(request: Request, settings: SettingsDep) -> JSONResponse:
    """200 when every event was applied or seen before; 202 when some were ignored (about no
    message sent from here): neither is a failure a provider should retry."""
    body = await _body_within(request, MAX_BODY_BYTES)
    try:
        key = webhook_key(settings)
    except ConfigurationError as exc:  # retry later: the events are not lost
        raise BackendUnavailable(exc.message, field=exc.field, fix=exc.fix) from None
    verify(
        key,
        timestamp=request.headers.get(TIMESTAMP_HEADER),
        signature_header=request.headers.get(SIGNATURE_HEADER),
        body=body,
        now=time.time(),
        tolerance_s=settings.webhook_tolerance_s,
    )
    events = parse_events(_json(body))
    outcomes = await run_in_threadpool(_record, settings, events)
    counts = {status: 0 for status in ("applied", "duplicate", "ignored")}
    for outcome in outcomes:
        counts[outcome.status] += 1
    return JSONResponse(
        {
            "results": [
                {"id": o.event_id, "status": o.status, "detail": o.detail} for o in outcomes
            ],
            **counts,
        },
        status_code=202 if counts["ignored"] else 200,
    )
