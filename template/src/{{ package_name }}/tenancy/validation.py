"""The input rules: what a client may send, checked before anything reaches the database.

A client's mistake must come back as a ``422`` saying what is wrong, never as a
``500`` from deep inside PostgreSQL, the JSON encoder or the response renderer:

* text (``CleanText``) holds no NUL character and no lone surrogate (a ``\\ud800``
  escape without its pair): PostgreSQL ``text`` cannot store either, and a
  surrogate cannot even be encoded to UTF-8 to send it;
* a JSON value stored as ``jsonb`` (``check_json``, used for tenant metadata) is
  bounded in depth and size (a value nested 900 deep can be parsed and stored but
  never serialised again), has finite numbers only and clean strings and keys;
* a request body with ``NaN``, ``Infinity`` or a number too large for a float is
  not JSON: ``StrictJsonRoute`` refuses it while parsing, so it can neither pass a
  ``float`` field nor crash the error response that would echo it;
* ``validation_error_response`` renders validation errors even when the input they
  echo cannot be rendered as it is (a lone surrogate);
* ``is_clean_label`` is the rule for short identifiers copied into logs and audit
  entries (the caller's ``actor``): printable characters only.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, NoReturn, TypeVar

from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import AfterValidator

T = TypeVar("T")

#: Deepest nesting of objects and arrays in a stored JSON value.
MAX_JSON_DEPTH = 32
#: Most keys and array items, counted over the whole value.
MAX_JSON_ITEMS = 1000

_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean_text(value: str) -> str:
    """``value`` if PostgreSQL can store it as text; a ``ValueError`` saying why not."""
    if "\x00" in value:
        raise ValueError("text must not contain the NUL character")
    if not value.isascii() and _SURROGATE.search(value):
        raise ValueError("text must not contain lone surrogates (\\ud800-\\udfff)")
    return value


def check_json(value: T, *, max_depth: int = MAX_JSON_DEPTH, max_items: int = MAX_JSON_ITEMS) -> T:
    """``value`` if it is a JSON value PostgreSQL can store and the service can return.

    Iterative, so a value nested deeper than Python's recursion limit is refused
    with a message instead of a ``RecursionError``.
    """
    pending: list[tuple[object, int]] = [(value, 0)]
    items = 0
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            depth += 1
            if depth > max_depth:
                raise ValueError(f"JSON must not be nested more than {max_depth} levels deep")
            items += len(item)
            if items > max_items:
                raise ValueError(f"JSON must not have more than {max_items} keys and items")
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        raise ValueError("JSON object keys must be strings")
                    clean_text(key)
                    pending.append((child, depth))
            else:
                pending.extend((child, depth) for child in item)
        elif isinstance(item, str):
            clean_text(item)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValueError("JSON numbers must be finite (no NaN or Infinity)")
        elif item is not None and not isinstance(item, bool | int):
            raise ValueError(f"not a JSON value: {type(item).__name__}")
    return value


def is_clean_label(value: str) -> bool:
    """Whether ``value`` has printable characters only: no NUL, controls or surrogates."""
    return value.isprintable()


CleanText = Annotated[str, AfterValidator(clean_text)]
CleanJson = Annotated[dict[str, Any], AfterValidator(check_json)]


# --- request bodies -------------------------------------------------------------------


class NonFiniteNumberError(json.JSONDecodeError):
    """``NaN``, ``Infinity`` or a number beyond a float's range: not JSON (RFC 8259)."""


class _NonFiniteError(Exception):
    def __init__(self, token: str) -> None:
        self.token = token


def _refuse_constant(token: str) -> NoReturn:
    raise _NonFiniteError(token)


def _finite_float(token: str) -> float:
    number = float(token)
    if math.isinf(number):  # 1e400 parses to inf
        raise _NonFiniteError(token)
    return number


def parse_json(body: bytes | str) -> Any:
    """``json.loads`` for request bodies: non-finite numbers are a decode error."""
    try:
        return json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except _NonFiniteError as exc:
        doc = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        raise NonFiniteNumberError(
            f"{exc.token} is not a JSON number (numbers must be finite)",
            doc,
            _position(doc, exc.token),
        ) from None


def _position(doc: str, token: str) -> int:
    """Where ``token`` first occurs outside strings: one regex pass, on the error path only.

    Possessive loops over runs of other characters and over whole strings never
    backtrack, so the scan stays linear in the body's size whatever a client sends.
    """
    first, rest = re.escape(token[0]), re.escape(token[1:])
    skip = rf'(?:[^"{first}]++|"(?:[^"\\]++|\\.)*+"|{first}(?!{rest}))*+'
    found = re.match(skip + re.escape(token), doc)
    return found.end() - len(token) if found else max(doc.find(token), 0)


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_strict_json"):
            self._strict_json = parse_json(await self.body())
        return self._strict_json


class StrictJsonRoute(APIRoute):
    """A route whose JSON body refuses ``NaN`` and ``Infinity`` (422, like any invalid JSON).

    Python's ``json.loads``, which FastAPI uses, accepts them. Every router of the
    service is built with ``APIRouter(route_class=StrictJsonRoute)``; a route without
    a body is left as FastAPI builds it (no extra work per request).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict_handler


# --- validation errors ----------------------------------------------------------------


def validation_error_response(exc: RequestValidationError) -> Response:
    """FastAPI's 422 response, rendered even when the input it echoes cannot be.

    FastAPI's own handler fails (a 500) when the error echoes a lone surrogate (an
    ``identifier``, an unknown field's name) or a non-finite number; then the
    errors are sent without their ``input``, lone surrogates replaced.
    """
    errors = exc.errors()
    try:
        body = _dumps({"detail": jsonable_encoder(errors)})
    except ValueError:  # a lone surrogate (UnicodeEncodeError) or NaN (allow_nan=False)
        body = _dumps({"detail": [_without_input(error) for error in errors]})
    return Response(body, status_code=422, media_type="application/json")


def _dumps(content: object) -> bytes:
    return json.dumps(content, ensure_ascii=False, allow_nan=False).encode("utf-8")


def _without_input(error: Any) -> dict[str, object]:
    return {
        "type": _printable(error.get("type", "")),
        "loc": [p if isinstance(p, int) else _printable(p) for p in error.get("loc", ())],
        "msg": _printable(error.get("msg", "")),
    }


def _printable(value: object) -> str:
    return _SURROGATE.sub("\ufffd", str(value))
