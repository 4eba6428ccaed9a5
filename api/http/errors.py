"""Errors as HTTP answers: a McopilotError becomes RFC 9457 problem JSON with its status; a
database failure becomes a 503 that never echoes SQL (it can carry customer data)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from core.errors import BackendUnavailable, McopilotError

PROBLEM_JSON = "application/problem+json"


def problem_response(error: McopilotError) -> JSONResponse:
    return JSONResponse(error.to_problem(), status_code=error.status_code, media_type=PROBLEM_JSON)


async def _mcopilot_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, McopilotError)
    return problem_response(exc)


async def _database_error(_request: Request, exc: Exception) -> JSONResponse:
    return problem_response(
        BackendUnavailable(
            f"the database failed ({exc.__class__.__name__})",
            fix="try again; if it persists, check the database is up",
        )
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(McopilotError, _mcopilot_error)
    app.add_exception_handler(SQLAlchemyError, _database_error)
