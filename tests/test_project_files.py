"""The generated project's own tooling: Makefile, pre-commit, dependabot, CI and image.

One default render, installed into the shared environment and committed to a git
repository of its own, as a user would have it. Each Makefile target runs as a user runs
it: ``make <target>`` with uv on ``PATH``. ``make test`` is the generated suite, which
test_render.py runs already: here only its command is checked (``make -n``). The Docker
image cannot be built on the machines these tests run on: the workflow that builds it is
validated against GitHub's schema, and the image's dependency set (no dev group) is
installed and imported.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import render, run

SLUG = "my-saas-service"
PACKAGE = "my_saas_service"
TARGETS = ("help", "dev", "test", "lint", "fmt", "migrate")
DEADLINE_SECONDS = 60.0
#: Service settings a caller's environment could hold: the project's .env must decide.
SERVICE_SETTINGS = ("DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL", "ENVIRONMENT")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, uv: str, shared_env: Path) -> Path:
    """The default render after a user's first ``uv sync`` (uv.lock written), committed."""
    folder = render(tmp_path_factory.mktemp("dx") / "service")
    run([uv, "sync", "--quiet"], folder, {"UV_PROJECT_ENVIRONMENT": str(shared_env)})
    for args in (["init", "--quiet"], ["add", "--all"], ["commit", "--quiet", "-m", "new"]):
        run(["git", "-c", "user.name=t", "-c", "user.email=t@localhost", *args], folder)
    return folder


@pytest.fixture(scope="module")
def environment(uv: str, shared_env: Path) -> dict[str, str]:
    """The caller's environment, uv on PATH, the shared venv, and no service settings; no
    MAKEFLAGS/MAKELEVEL either (under the template's `make test` they would make these runs
    nested makes, which print "Entering directory" as a user's make does not)."""
    outer_make = {"MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES"}
    env = {k: v for k, v in os.environ.items() if k not in {*SERVICE_SETTINGS, *outer_make}}
    env["PATH"] = f"{Path(uv).parent}{os.pathsep}{env.get('PATH', '')}"
    env["UV_PROJECT_ENVIRONMENT"] = str(shared_env)
    return env


def make(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", *args], cwd=project, env=env, capture_output=True, text=True, check=False
    )


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(map(str, result.args))}:\n{output[-6000:]}"
    return output


def _status(project: Path) -> str:
    return run(["git", "status", "--porcelain", "--untracked-files=all"], project)


@pytest.fixture
def scratch(project: Path) -> Iterator[Path]:
    """A module of the package that a test writes; the project is clean again after."""
    path = project / "src" / PACKAGE / "scratch.py"
    yield path
    path.unlink(missing_ok=True)
    run(["git", "reset", "--quiet"], project)  # unstaged, should a test stop half-way
    assert _status(project) == ""


# --- Makefile -------------------------------------------------------------------------------


def test_make_alone_lists_the_targets(project: Path, environment: dict[str, str]) -> None:
    output = _ok(make(project, environment))
    listed = re.findall(r"^  make (\w+) ", output, flags=re.MULTILINE)
    assert tuple(listed) == TARGETS, output


def test_make_test_runs_the_projects_tests_through_uv(
    project: Path, environment: dict[str, str]
) -> None:
    *before, command = _ok(make(project, environment, "-n", "test")).strip().splitlines()
    assert command == "uv run pytest"
    # tests/test_pgbouncer.py needs PgBouncer: installed first where apt-get can.
    assert "apt-get install -y -qq pgbouncer" in "\n".join(before)
    command = _ok(make(project, environment, "-n", "test", "ARGS=-k notes")).strip()
    assert command.splitlines()[-1] == "uv run pytest -k notes"


def test_fmt_changes_nothing_and_lint_passes_on_a_new_project(
    project: Path, environment: dict[str, str]
) -> None:
    _ok(make(project, environment, "fmt"))
    assert _status(project) == ""
    output = _ok(make(project, environment, "lint"))
    assert "All checks passed!" in output
    assert "Success: no issues found" in output  # mypy ran


def test_fmt_fixes_and_formats_then_lint_catches_a_type_error(
    project: Path, environment: dict[str, str], scratch: Path
) -> None:
    scratch.write_text("import sys\nimport os\ndef double( x:int)->int:\n  return x*2\n")

    _ok(make(project, environment, "fmt"))

    assert scratch.read_text() == "def double(x: int) -> int:\n    return x * 2\n"
    _ok(make(project, environment, "lint"))
    scratch.write_text(scratch.read_text() + '\n\nHALF: int = "one half"\n')
    failed = make(project, environment, "lint")
    assert failed.returncode != 0
    assert "Incompatible types in assignment" in failed.stdout + failed.stderr


@pytest.fixture
def database_folder() -> Iterator[Path]:
    """``EMBEDDED_POSTGRES_DIR``: outside pytest's temporary root, whose mode pytest
    resets to 0700 (the embedded server runs as a user of its own)."""
    data = Path(tempfile.mkdtemp(prefix="pg-dx-")) / "data"
    yield data
    pid = _postgres_pid(data)
    if pid is not None:  # a failed test leaves no server behind
        try:
            os.kill(pid, signal.SIGQUIT)
        except ProcessLookupError:
            pass
    shutil.rmtree(data.parent, ignore_errors=True)


def _postgres_pid(data: Path) -> int | None:
    try:
        return int((data / "postmaster.pid").read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def _poll(condition: Callable[[], bool], what: str, output: Callable[[], str]) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting: {what}\n{output()}")
        time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_migrate_then_dev_on_the_embedded_postgresql(
    project: Path, environment: dict[str, str], database_folder: Path
) -> None:
    env = {**environment, "EMBEDDED_POSTGRES_DIR": str(database_folder)}

    migrated = _ok(make(project, env, "migrate"))

    assert "embedded PostgreSQL" in migrated
    assert (database_folder / "PG_VERSION").is_file()
    _poll(lambda: _postgres_pid(database_folder) is None, "migrate's server to stop", str)

    port = _free_port()
    log = project.parent / "dev.log"
    with log.open("wb") as out:
        dev = subprocess.Popen(
            ["make", "dev", f"ARGS=--port {port} --no-reload"],
            cwd=project,
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group, as a terminal's Ctrl+C reaches it
        )
    try:

        def health() -> bool:
            assert dev.poll() is None, f"make dev exited:\n{log.read_text()}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    return bool(r.status == 200)
            except OSError:
                return False

        _poll(health, "make dev to serve /health", log.read_text)
        os.killpg(dev.pid, signal.SIGINT)  # Ctrl+C
        dev.wait(timeout=DEADLINE_SECONDS)
    finally:
        if dev.poll() is None:
            os.killpg(dev.pid, signal.SIGKILL)
            dev.wait()
    _poll(lambda: _postgres_pid(database_folder) is None, "dev's server to stop", log.read_text)
    assert _status(project) == ""  # .data, caches: all ignored by git


# --- pre-commit -----------------------------------------------------------------------------


def test_pre_commit_runs_the_projects_own_tools(
    project: Path, environment: dict[str, str], tmp_path: Path, scratch: Path
) -> None:
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    assert hooks == {"ruff-check", "ruff-format", "mypy"}
    # No hook repository to download: every hook runs the project's own tools via uv.
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    env = {**environment, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit")}
    pre_commit = [sys.executable, "-m", "pre_commit", "run"]

    output = run([*pre_commit, "--all-files"], project, env)

    assert output.count("Passed") == 3, output
    scratch.write_text("def double( x:int)->int:\n  return x*2\n")
    run(["git", "add", str(scratch)], project)
    failed = subprocess.run(
        [*pre_commit, "--files", str(scratch)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "files were modified by this hook" in failed.stdout
    assert scratch.read_text() == "def double(x: int) -> int:\n    return x * 2\n"


# --- dependabot and CI ----------------------------------------------------------------------


def _schema_check(schema: str, path: Path) -> None:
    """Validate with check-jsonschema's copy of SchemaStore's schema (no network)."""
    check = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)]
    run(check, path.parent)


def test_dependabot_updates_python_actions_and_images_weekly(project: Path) -> None:
    path = project / ".github" / "dependabot.yml"
    _schema_check("vendor.dependabot", path)
    config = yaml.safe_load(path.read_text())
    assert config["version"] == 2
    updates = {u["package-ecosystem"]: u for u in config["updates"]}
    assert set(updates) == {"uv", "github-actions", "docker"}
    for update in updates.values():
        assert update["directory"] == "/"
        assert update["schedule"]["interval"] == "weekly"
    assert (project / "pyproject.toml").is_file() and (project / "uv.lock").is_file()
    assert (project / "Dockerfile").is_file()


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job["steps"])


def test_ci_lints_tests_and_builds_the_image(project: Path) -> None:
    path = project / ".github" / "workflows" / "ci.yml"
    _schema_check("vendor.github-workflows", path)
    jobs = yaml.safe_load(path.read_text())["jobs"]

    check = [step.get("run") for step in _steps(jobs["check"])]
    assert "make lint" in check and "make test" in check, check
    image = _steps(jobs["image"])
    build = [s for s in image if s.get("uses", "").startswith("docker/build-push-action@")]
    assert len(build) == 1, image
    assert build[0]["with"]["push"] is False
    assert build[0]["with"]["context"] == "."
    tag = build[0]["with"]["tags"]
    assert f"docker run --rm {tag} {SLUG} --help" in [s.get("run") for s in image]

    # Every action at a released version (a major tag or a full one), never a branch.
    actions = [s["uses"] for job in jobs.values() for s in _steps(job) if "uses" in s]
    assert "docker/setup-buildx-action@v4" in actions
    for action in actions:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+(\.\d+\.\d+)?", action), action


def test_the_images_dependencies_run_the_service(project: Path, uv: str, tmp_path: Path) -> None:
    """What the Dockerfile installs (``uv sync --no-dev``) imports every module and runs
    the command: nothing at run time needs a dev dependency."""
    dockerfile = (project / "Dockerfile").read_text()
    syncs = re.findall(r"^RUN uv sync.*$", dockerfile, flags=re.MULTILINE)
    assert syncs and all("--no-dev" in line for line in syncs), syncs
    assert ":latest" not in dockerfile
    venv = tmp_path / "runtime"
    run([uv, "sync", "--quiet", "--no-dev"], project, {"UV_PROJECT_ENVIRONMENT": str(venv)})
    assert not (venv / "bin" / "pytest").exists()
    # Alembic's env.py files are scripts run by Alembic, not modules to import.
    imports = (
        f"import importlib, pkgutil, {PACKAGE}\n"
        f"for m in pkgutil.walk_packages({PACKAGE}.__path__, '{PACKAGE}.'):\n"
        "    if not m.name.endswith('.env'):\n"
        "        importlib.import_module(m.name)\n"
        f"from {PACKAGE}.main import create_app\n"
    )
    run([str(venv / "bin" / "python"), "-c", imports], tmp_path)
    assert "Usage" in run([str(venv / "bin" / SLUG), "--help"], tmp_path)
