"""Password hashing: Argon2 through ``pwdlib``, off the event loop.

Hashing is deliberately slow (tens of milliseconds of CPU): it runs in a worker
thread, so one login does not stall every other request of the process.

A login for an unknown email still verifies the password, against a hash made
up at start-up, so it costs the same time as a wrong password: how long the
answer takes does not tell whether the address has an account. A hash made with
older parameters is replaced at the next successful login (``pwdlib`` says when).
"""

from __future__ import annotations

import asyncio
import secrets

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher


class Passwords:
    def __init__(self, hasher: PasswordHash | None = None) -> None:
        self._hasher = hasher or PasswordHash((Argon2Hasher(),))
        self._dummy: str | None = None

    async def start(self) -> None:
        """Make the stand-in hash before the first login (else that one takes longer)."""
        if self._dummy is None:
            self._dummy = await self.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password: str, hashed: str | None) -> tuple[bool, str | None]:
        """Whether ``password`` matches ``hashed`` (``None``: no such user), and the hash
        to store instead when it was made with other parameters."""
        if hashed is None:
            await self.start()
            assert self._dummy is not None
            await asyncio.to_thread(self._hasher.verify, password, self._dummy)
            return False, None
        return await asyncio.to_thread(self._hasher.verify_and_update, password, hashed)
