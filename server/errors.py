"""Every HTTP error is JSON that names the field: ``{"status", "error", "message", "field"}``.

``ApiError`` is what handlers raise; the exception handlers below also reshape Litestar's
own errors (query-parameter validation, unknown routes, wrong methods) into that form.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from stream.events import Rejection

log = logging.getLogger("cxpulse.server")
_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "invalid",
          429: "rate_limited", 503: "unavailable"}
_BACKTICK = re.compile(r"`([A-Za-z_][A-Za-z0-9_.]*)`")
_NO_FIELD = {"not_json", "not_object", "too_large", "bad_subject"}


class ApiError(Exception):
    """An error response: HTTP status, stable code, message and the field at fault."""

    def __init__(self, status: int, message: str, *, field: str | None = None,
                 code: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message
        self.field = field
        self.headers = headers or {}


_AT = re.compile(r"at `\$\.([A-Za-z_][A-Za-z0-9_]*)")
_NAMED = re.compile(r"field `([A-Za-z_][A-Za-z0-9_]*)`")


def msgspec_field(exc: Exception) -> str | None:
    """The top-level field a msgspec validation error is about."""
    text = str(exc)
    m = _AT.search(text) or _NAMED.search(text)
    return m.group(1) if m else None


def body(status: int, code: str, message: str, field: str | None) -> dict[str, Any]:
    return {"status": status, "error": code, "message": message, "field": field}


def rejection_field(rejection: Rejection) -> str | None:
    """The field a validation ``Rejection`` is about (``value``, ``ts``, ``location``...)."""
    if rejection.code in _NO_FIELD:
        return None
    if rejection.code in ("future_ts", "too_old_ts"):
        return "ts"
    m = _BACKTICK.search(rejection.reason)
    return m.group(1) if m else None


def rejection_error(rejection: Rejection) -> ApiError:
    return ApiError(422, rejection.reason, field=rejection_field(rejection), code=rejection.code)


def _respond(err: ApiError) -> Response[dict[str, Any]]:
    headers = dict(err.headers)
    if err.status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="cxpulse"')
    return Response(body(err.status, err.code, err.message, err.field), status_code=err.status,
                    headers=headers)


def handle_api_error(_: Request[Any, Any, Any], exc: ApiError) -> Response[dict[str, Any]]:
    return _respond(exc)


def handle_validation(
    _: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    extra = exc.extra if isinstance(exc.extra, list) else []
    first = extra[0] if extra and isinstance(extra[0], dict) else {}
    field = first.get("key")
    message = first.get("message") or exc.detail
    if field:
        message = f"{first.get('source', 'parameter')} parameter `{field}`: {message}"
    return _respond(ApiError(400, str(message), field=field))


def handle_http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    return _respond(ApiError(exc.status_code, exc.detail, headers=exc.headers))


def handle_internal(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error on %s", request.url.path, exc_info=exc)
    return _respond(ApiError(HTTP_500_INTERNAL_SERVER_ERROR, "internal server error",
                             code="internal"))


EXCEPTION_HANDLERS = {
    ApiError: handle_api_error,
    ValidationException: handle_validation,
    HTTPException: handle_http,
    Exception: handle_internal,
}
