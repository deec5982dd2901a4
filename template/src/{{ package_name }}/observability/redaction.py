"""``Redactor``: the last processor before a log record is written; secrets never are.

Three nets, because a secret reaches a log in more ways than one:

- by name: a field called ``authorization``, ``password``, ``token``, ``secret``,
  ``api_key``, ``cookie`` (and names containing them) is replaced whole;
- by shape: ``Bearer ...``/``Basic ...`` credentials, JSON Web Tokens, the password
  in a URL (``postgresql://user:password@host``) and ``password=...`` pairs in text
  (a traceback, a driver's message);
- by value: the configured secrets themselves (``ADMIN_TOKEN``, ``METRICS_TOKEN``,
  ``AUTH_SECRET``..., the database passwords), wherever they appear.

One exception: the development mailbox (``MAIL_BACKEND=log`` outside production logs
each mail on ``auth.mail``, link and its one-time token included, for the developer to
click) keeps its shapes; configured secrets are still removed from it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from structlog.typing import EventDict, WrappedLogger

REDACTED = "[REDACTED]"
_SECRET_NAME = re.compile(
    r"authorization|passw|secret|token|api[_-]?key|cookie|credential|private[_-]?key|dsn",
    re.IGNORECASE,
)
_SHAPES = (
    # Authorization header values
    (re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE), r"\1 " + REDACTED),
    # JSON Web Tokens (header.payload.signature, base64url, header starts with {")
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
    # user:password@ in URLs
    (
        re.compile(r"(?<=[a-z0-9+]://)([^:/?#@\s]*):[^@/?#\s]*@", re.IGNORECASE),
        r"\1:" + REDACTED + "@",
    ),
    # password=..., token: ..., "secret": "..." in text
    (
        re.compile(
            r"""(?P<key>["']?\b[\w-]*(?:passw|secret|token|api[_-]?key)[\w-]*["']?\s*[=:]\s*)"""
            r"""(?P<quote>["']?)[^\s"',;&)}]+(?P=quote)""",
            re.IGNORECASE,
        ),
        r"\g<key>\g<quote>" + REDACTED + r"\g<quote>",
    ),
)
#: Text in which no shape can match is left alone without running the shapes (most is).
_SUSPECT = re.compile(r"bearer|basic|eyJ|://|passw|secret|token|api[_-]?key", re.IGNORECASE)
#: Fields the pipeline writes itself, each validated or computed (a request id is
#: ``[A-Za-z0-9._-]``, an identifier ``[a-z0-9-]``): never secrets, never scanned.
_OWN_FIELDS = frozenset(
    {
        "timestamp",
        "level",
        "logger",
        "request_id",
        "tenant_id",
        "tenant",
        "method",
        "route",
        "status",
        "duration_ms",
        "client",
    }
)
#: Deeper than this, a value is replaced rather than walked (a crafted, deeply nested
#: ``extra`` must not exhaust the stack of the process that logs it).
_MAX_DEPTH = 8


_DEVELOPMENT_MAILBOX = "auth.mail"


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is removed whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, _: WrappedLogger, __: str, event: EventDict) -> EventDict:
        shapes = event.get("logger") != _DEVELOPMENT_MAILBOX
        return {
            key: value if key in _OWN_FIELDS else self._value(key, value, 0, shapes)
            for key, value in event.items()
        }

    def _value(self, key: str, value: Any, depth: int, shapes: bool) -> Any:
        if key not in ("event", "logger") and _SECRET_NAME.search(key):
            return REDACTED if value is not None else None
        if isinstance(value, str):
            return self.text(value, shapes=shapes)
        if depth >= _MAX_DEPTH and isinstance(value, (Mapping, list, tuple)):
            return REDACTED
        if isinstance(value, Mapping):
            return {str(k): self._value(str(k), v, depth + 1, shapes) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._value("", v, depth + 1, shapes) for v in value]
        if isinstance(value, (int, float, bool)) or value is None:
            return value
        return self.text(str(value), shapes=shapes)

    def text(self, text: str, *, shapes: bool = True) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        if shapes and _SUSPECT.search(text):
            for pattern, replacement in _SHAPES:
                text = pattern.sub(replacement, text)
        return text

    @staticmethod
    def passwords_in(url: str) -> list[str]:
        """The password of a URL (raw and decoded), to be redacted wherever it shows up."""
        try:
            password = urlsplit(url).password
        except ValueError:
            return []
        return [password, unquote(password)] if password else []
