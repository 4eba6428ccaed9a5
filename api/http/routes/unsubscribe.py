"""`GET|POST /v1/unsubscribe/{token}`: one-click unsubscribe (RFC 8058). GET only shows a
confirmation page (link scanners fetch GETs); POST with `List-Unsubscribe=One-Click`, from a
mail client or the page's button, opts the customer out at once, audited."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.http import pages
from api.http.deps import SettingsDep
from api.http.errors import problem_response
from core.db import session_scope
from core.errors import InvalidInput, McopilotError
from core.settings import Settings
from journeys.feedback_store import Unsubscribed, unsubscribe
from journeys.unsubscribe import PATH, UnsubscribeToken, read_token, unsubscribe_key

router = APIRouter()
ONE_CLICK = ("List-Unsubscribe", "One-Click")


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _error(request: Request, error: McopilotError) -> Response:
    if _wants_html(request):
        return HTMLResponse(pages.invalid_page(error.message), status_code=error.status_code)
    return problem_response(error)


@router.get(PATH + "{token}", response_class=HTMLResponse)
def confirm(token: str, request: Request, settings: SettingsDep) -> Response:
    try:
        found = read_token(unsubscribe_key(settings), token)
    except McopilotError as exc:
        return HTMLResponse(pages.invalid_page(exc.message), status_code=exc.status_code)
    return HTMLResponse(pages.confirm_page(found.channel, f"{PATH}{token}"))


def _unsubscribe(settings: Settings, token: UnsubscribeToken, via: str) -> Unsubscribed:
    with session_scope(settings) as session:
        return unsubscribe(session, token, via=via, settings=settings)


@router.post(PATH + "{token}")
async def one_click(token: str, request: Request, settings: SettingsDep) -> Response:
    form = await request.form()
    try:
        if form.get(ONE_CLICK[0]) != ONE_CLICK[1]:
            raise InvalidInput(
                "must be One-Click",
                field="List-Unsubscribe",
                fix="POST the body List-Unsubscribe=One-Click (RFC 8058)",
            )
        found = read_token(unsubscribe_key(settings), token)
        via = "confirmation page" if form.get("via") == "page" else "one-click"
        done = await run_in_threadpool(_unsubscribe, settings, found, via)
    except McopilotError as exc:
        return _error(request, exc)
    if _wants_html(request):
        return HTMLResponse(pages.done_page(done.channel, done.already))
    return JSONResponse(
        {
            "status": "already_unsubscribed" if done.already else "unsubscribed",
            "channel": done.channel,
        }
    )
