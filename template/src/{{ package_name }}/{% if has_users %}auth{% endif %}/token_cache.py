"""Access tokens verified once per process, then remembered until they expire.

A client sends the same access token with every request until it expires, and
verifying it (PyJWT: base64 alphabet checks, key-type probes, three JSON documents,
the HMAC, the claims) was most of what authentication cost a request on a cached
membership. Only a token that verified is remembered, by its exact text, so a
forged or altered one is verified (and refused) every time; a remembered one is
checked again for the one thing that changes with time, its expiry (with the same
leeway). Nothing else can change: the signature, issuer and audience are facts of
the text and of this process's settings. Bounded: least recently used first out.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from .errors import InvalidTokenError
from .settings import AuthSettings
from .tokens import LEEWAY_SECONDS, AccessClaims, AccessTokens

#: Tokens remembered per process (~0.5 KiB each).
MAX_REMEMBERED = 10_000


class CachedAccessTokens(AccessTokens):
    def __init__(
        self,
        settings: AuthSettings,
        *,
        max_size: int = MAX_REMEMBERED,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(settings)
        self._verified: OrderedDict[str, AccessClaims] = OrderedDict()
        self._max_size = max_size
        self._clock = clock

    def verify(self, token: str) -> AccessClaims:
        claims = self._verified.get(token)
        if claims is None:
            claims = super().verify(token)  # InvalidTokenError: nothing remembered
            self._verified[token] = claims
            if len(self._verified) > self._max_size:
                self._verified.popitem(last=False)
        elif self._clock() >= claims.expires_at + LEEWAY_SECONDS:
            del self._verified[token]
            raise InvalidTokenError("Token expired")
        else:
            self._verified.move_to_end(token)
        return claims
