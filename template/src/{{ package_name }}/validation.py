"""Checks that keep a client's mistake from becoming a database error.

PostgreSQL ``text`` and ``jsonb`` cannot hold the NUL character: a string with
one fails the whole statement, which would surface as a 500. Every free-text
input passes through these checks first, so the client gets a 422 saying why.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator

T = TypeVar("T")


def no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain the NUL character")
    return value


def no_nul_in_json(value: T) -> T:
    """Reject NUL anywhere in a JSON document (keys and string values)."""
    if "\\u0000" in json.dumps(value):
        raise ValueError("JSON must not contain the NUL character")
    return value


CleanText = Annotated[str, AfterValidator(no_nul)]
CleanJson = Annotated[dict[str, Any], AfterValidator(no_nul_in_json)]
