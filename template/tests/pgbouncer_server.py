"""A real PgBouncer in transaction mode, in front of the tests' PostgreSQL.

Production PostgreSQL often sits behind PgBouncer with ``pool_mode = transaction``:
a server connection serves one client for one transaction, then another client.
Whatever a client leaves on it past its transaction (a session ``SET``, a prepared
statement) reaches the next client. The tests start ``/usr/sbin/pgbouncer`` (Debian's
package ``pgbouncer``) with a pool of very few server connections, so many clients
share each one, and point the service at it (``DATABASE_POOLER=pgbouncer``).

It listens on a unix socket in a temporary folder (no TCP port to collide with a
system PgBouncer on 6432). ``[databases] *`` forwards every database name to the
same name on the server, so database-per-tenant databases are reachable too.
Clients are trusted (the socket is private to the test run); PgBouncer logs in to
PostgreSQL with the roles' passwords from its ``userlist.txt``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import URL, make_url

#: The listening socket is ``.s.PGSQL.<port>`` in the folder; no TCP port is opened.
PORT = 6432
PACKAGE_HINT = "install the pgbouncer package (apt-get install pgbouncer)"


def find_pgbouncer() -> str:
    for candidate in (shutil.which("pgbouncer"), "/usr/sbin/pgbouncer"):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError(f"No pgbouncer binary found (PATH, /usr/sbin): {PACKAGE_HINT}")


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


class PgBouncer:
    """PgBouncer in transaction mode for the PostgreSQL server of ``server_url``."""

    def __init__(self, server_url: str, logins: list[str], *, pool_size: int = 2) -> None:
        """``logins``: URLs whose user and password PgBouncer may log in with."""
        self._server = make_url(server_url)
        self._logins = [make_url(url) for url in logins]
        self.pool_size = pool_size
        self.folder = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
        self._process: subprocess.Popen[bytes] | None = None

    def url(self, url: str) -> str:
        """``url`` (a role and database on the server) through PgBouncer instead."""
        through: URL = make_url(url).set(host=None, port=None)
        query = {key: value for key, value in through.query.items() if key != "host"}
        query["host"] = str(self.folder)
        query["port"] = str(PORT)
        return through.set(query=query).render_as_string(hide_password=False)

    def _server_address(self) -> str:
        host = self._server.host or self._server.query.get("host")
        if isinstance(host, tuple):
            host = host[0]
        port = self._server.port or self._server.query.get("port") or 5432
        if isinstance(port, tuple):
            port = port[0]
        return f"host={host or '/var/run/postgresql'} port={port}"

    def _write_config(self) -> Path:
        users = "".join(
            f"{_quoted(login.username or '')} {_quoted(login.password or '')}\n"
            for login in self._logins
        )
        (self.folder / "userlist.txt").write_text(users)
        config = self.folder / "pgbouncer.ini"
        config.write_text(
            "[databases]\n"
            f"* = {self._server_address()}\n"
            "[pgbouncer]\n"
            "listen_addr =\n"
            f"listen_port = {PORT}\n"
            f"unix_socket_dir = {self.folder}\n"
            "auth_type = trust\n"
            f"auth_file = {self.folder / 'userlist.txt'}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {self.pool_size}\n"
            "min_pool_size = 0\n"
            "reserve_pool_size = 0\n"
            "max_client_conn = 500\n"
            "max_db_connections = 0\n"
            # Clients' startup parameters PgBouncer does not track; asyncpg sends none else.
            "ignore_startup_parameters = extra_float_digits\n"
            "server_reset_query =\n"
            f"logfile = {self.folder / 'pgbouncer.log'}\n"
            f"pidfile = {self.folder / 'pgbouncer.pid'}\n"
            "admin_users =\n"
        )
        return config

    def _run_as(self) -> list[str]:
        """PgBouncer refuses to run as root: then it runs as the owner of the server's
        socket folder (the embedded server's user), or ``nobody``."""
        if os.geteuid() != 0:
            return []
        host = self._server.host or self._server.query.get("host")
        entry = pwd.getpwnam("nobody")
        if isinstance(host, str) and host.startswith("/") and Path(host).exists():
            entry = pwd.getpwuid(Path(host).stat().st_uid)
        self.folder.chmod(0o700)
        for path in (self.folder, *self.folder.iterdir()):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        return ["-u", entry.pw_name]

    @property
    def socket(self) -> Path:
        return self.folder / f".s.PGSQL.{PORT}"

    def start(self) -> None:
        config = self._write_config()
        command = [find_pgbouncer(), *self._run_as(), str(config)]
        with (self.folder / "output.log").open("wb") as output:  # the child keeps its copy
            self._process = subprocess.Popen(  # noqa: S603 - our own binary and arguments
                command, stdout=output, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._answers():
                return
            if self._process.poll() is not None:
                logged = "".join(
                    log.read_text()
                    for log in (self.folder / "output.log", self.folder / "pgbouncer.log")
                    if log.exists()
                )
                raise RuntimeError(f"pgbouncer exited with {self._process.returncode}: {logged}")
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("pgbouncer did not start within 10 s")

    def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(str(self.socket))
            except OSError:
                return False
        return True

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None
        shutil.rmtree(self.folder, ignore_errors=True)
