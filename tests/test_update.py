"""``copier update``: users keep their edits, get upstream fixes, and can change answers.

Each test works on a throw-away git copy of this template with PEP 440 tags, so
it also covers uncommitted work: v0.1.0 is the template as it is now, v0.2.0
the same plus an upstream change made by the test.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from copier import run_copy, run_update
from copier.errors import UnsafeTemplateError

from .conftest import ROOT, render, run, run_pytest

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}
CACHE = Path("template/src/{{ package_name }}/tenancy/cache.py")
UPSTREAM_OLD = "Misses are cached too"
UPSTREAM_NEW = "(upstream 0.2.0) Misses are cached too"


def git(cwd: Path, *args: str) -> str:
    return run(["git", *args], cwd, GIT_ENV)


def _commit_all(cwd: Path, message: str) -> None:
    git(cwd, "add", "-A")
    git(cwd, "commit", "-q", "-m", message)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git copy of the template: v0.1.0 as it is, v0.2.0 with an upstream fix."""
    copy = tmp_path_factory.mktemp("template-repo")
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in tracked:
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    git(copy, "init", "-q")
    _commit_all(copy, "template 0.1.0")
    git(copy, "tag", "v0.1.0")
    cache = copy / CACHE
    text = cache.read_text()
    assert UPSTREAM_OLD in text
    cache.write_text(text.replace(UPSTREAM_OLD, UPSTREAM_NEW))
    _commit_all(copy, "template 0.2.0: a fix in a vendored module")
    git(copy, "tag", "v0.2.0")
    return copy


def _project(template: Path | str, destination: Path, **answers: object) -> Path:
    run_copy(str(template), destination, data=answers, defaults=True, vcs_ref="v0.1.0", quiet=True)
    git(destination, "init", "-q")
    _commit_all(destination, "generated at 0.1.0")
    return destination


def _conflicts(project: Path) -> list[str]:
    found = []
    for path in project.rglob("*"):
        if ".git" in path.parts or not path.is_file():
            continue
        if path.suffix == ".rej" or "<<<<<<< " in path.read_text(errors="ignore"):
            found.append(str(path.relative_to(project)))
    return found


@pytest.mark.parametrize("source", ["path", "git-url"])
def test_user_edits_survive_and_upstream_fix_lands(
    template: Path, tmp_path: Path, source: str, uv: str, shared_env: Path
) -> None:
    origin = str(template) if source == "path" else f"git+file://{template}"
    project = _project(origin, tmp_path / "svc")
    package = project / "src" / "my_saas_service"
    middleware = package / "tenancy" / "middleware.py"
    notes = package / "api" / "notes.py"
    middleware.write_text(middleware.read_text() + "\n# our gateway adds X-Org too\n")
    notes.write_text(
        notes.read_text().replace(
            "The example tenant-scoped resource.", "Notes: our first resource, edited by us."
        )
    )
    (project / ".env").write_text("ADMIN_TOKEN=our-own-secret-token\n")
    _commit_all(project, "our edits")

    run_update(project, defaults=True, overwrite=True, vcs_ref="v0.2.0", quiet=True)

    assert _conflicts(project) == []
    assert "# our gateway adds X-Org too" in middleware.read_text()
    assert "Notes: our first resource, edited by us." in notes.read_text()
    assert UPSTREAM_NEW in (package / "tenancy" / "cache.py").read_text()
    assert (project / ".env").read_text() == "ADMIN_TOKEN=our-own-secret-token\n"
    assert "_commit: v0.2.0" in (project / ".copier-answers.yml").read_text()
    if source == "path":  # the updated project's own checks, once
        run([uv, "sync", "--quiet"], project, {"UV_PROJECT_ENVIRONMENT": str(shared_env)})
        run([str(shared_env / "bin" / "ruff"), "check", "."], project)
        run([str(shared_env / "bin" / "mypy"), "src"], project)
        basetemp = str(tmp_path / "pytest")
        pytest_args = ["-q", "--basetemp", basetemp]
        summary = run_pytest([str(shared_env / "bin" / "pytest"), *pytest_args], project)
        assert " passed" in summary and "failed" not in summary, summary


@pytest.mark.parametrize(
    ("answer", "gone", "added"),
    [
        ({"resolution": "jwt"}, "tenancy/resolvers/header.py", "tenancy/resolvers/jwt.py"),
        ({"isolation": "schema"}, "tenancy/isolation/rls.py", "tenancy/isolation/schema.py"),
    ],
    ids=["resolution=jwt", "isolation=schema"],
)
def test_changing_an_answer_swaps_the_implementation(
    template: Path, tmp_path: Path, answer: dict[str, str], gone: str, added: str
) -> None:
    project = _project(template, tmp_path / "svc")
    package = project / "src" / "my_saas_service"
    assert (package / gone).exists()

    run_update(project, data=answer, defaults=True, overwrite=True, vcs_ref="v0.2.0", quiet=True)

    assert _conflicts(project) == []
    assert not (package / gone).exists()
    assert (package / added).exists()
    recorded = (project / ".copier-answers.yml").read_text()
    assert all(f"{name}: {value}" in recorded for name, value in answer.items()), recorded
    run([sys.executable, "-m", "ruff", "check", "--quiet", "."], project)
    run([sys.executable, "-m", "ruff", "format", "--check", "--quiet", "."], project)


def test_a_conflicting_edit_is_marked_inline(template: Path, tmp_path: Path) -> None:
    """The user changed the very line upstream changed: Copier writes conflict
    markers (docs/updating.md explains how to resolve them)."""
    project = _project(template, tmp_path / "svc")
    cache = project / "src" / "my_saas_service" / "tenancy" / "cache.py"
    cache.write_text(cache.read_text().replace(UPSTREAM_OLD, "(ours) Misses are cached too"))
    _commit_all(project, "our conflicting edit")

    run_update(
        project, defaults=True, overwrite=True, vcs_ref="v0.2.0", conflict="inline", quiet=True
    )

    text = cache.read_text()
    assert "<<<<<<< " in text and ">>>>>>> " in text
    assert "(ours) Misses are cached too" in text
    assert UPSTREAM_NEW in text


# --- 0.1.0 moved three modules: the migration carries the user's edits -----------------------

#: The last commit before 0.1.0 moved db.py, validation.py and tenancy/models.py.
BEFORE_0_1_0 = "407a0f3"
OUR_DB_EDIT = "\n\ndef our_helper() -> str:\n    return 'ours'\n"
OUR_MODEL_EDIT = ("    version: int\n", "    version: int\n    #: ours: why we keep the version\n")


@pytest.fixture(scope="module")
def history(template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A template repo whose history has the layout before 0.1.0, then 0.1.0 (untagged
    first commit: projects made before the first release recorded a bare commit)."""
    repo = tmp_path_factory.mktemp("template-history")
    git(repo, "init", "-q")
    archive = subprocess.run(
        ["git", "archive", BEFORE_0_1_0], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(repo)], input=archive, check=True)
    _commit_all(repo, "before 0.1.0")
    before = git(repo, "rev-parse", "HEAD").strip()
    for path in repo.iterdir():
        if path.name != ".git":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    shutil.copytree(template, repo, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git"))
    _commit_all(repo, "0.1.0")
    git(repo, "tag", "v0.1.0")
    return repo, before


def test_edits_of_moved_modules_follow_them_to_0_1_0(
    history: tuple[Path, str],
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    uv: str,
    shared_env: Path,
) -> None:
    repo, before = history
    project = tmp_path / "svc"
    run_copy(str(repo), project, defaults=True, vcs_ref=before, quiet=True)
    git(project, "init", "-q")
    _commit_all(project, "generated before 0.1.0")
    package = project / "src" / "my_saas_service"
    (package / "db.py").write_text((package / "db.py").read_text() + OUR_DB_EDIT)
    models = package / "tenancy" / "models.py"
    models.write_text(models.read_text().replace(*OUR_MODEL_EDIT, 1))
    ours = package / "api" / "ours.py"
    ours.write_text("from ..db import quote_identifier\n\nNAME = quote_identifier('x')\n")
    _commit_all(project, "our edits")
    committed = git(project, "rev-parse", "HEAD")

    # Copier runs a template's migrations only when trusted: without, nothing changes.
    with pytest.raises(UnsafeTemplateError):
        run_update(project, defaults=True, overwrite=True, vcs_ref="v0.1.0", quiet=True)
    assert git(project, "status", "--porcelain") == ""
    assert git(project, "rev-parse", "HEAD") == committed

    capfd.readouterr()
    run_update(project, defaults=True, overwrite=True, vcs_ref="v0.1.0", quiet=True, unsafe=True)
    printed = capfd.readouterr().out

    assert _conflicts(project) == []
    for old in ("db.py", "validation.py", "tenancy/models.py"):
        assert not (package / old).exists(), old
    db = (package / "tenancy" / "db.py").read_text()
    assert OUR_DB_EDIT in db and "class Connections" in db  # ours and upstream's
    tenant = (package / "tenancy" / "tenant.py").read_text()
    assert OUR_MODEL_EDIT[1] in tenant and "class TenantStatus" in tenant
    upstream = render(tmp_path / "upstream")
    assert (package / "tenancy" / "validation.py").read_text() == (
        upstream / "src" / "my_saas_service" / "tenancy" / "validation.py"
    ).read_text()
    assert "Moved your edits: src/my_saas_service/tenancy/db.py" in printed
    assert "Moved your edits: src/my_saas_service/tenancy/tenant.py" in printed
    assert "src/my_saas_service/api/ours.py:1: from ..db import quote_identifier" in printed

    # Following the message: the project checks clean.
    ours.write_text(ours.read_text().replace("from ..db", "from ..tenancy.db"))
    run([uv, "sync", "--quiet"], project, {"UV_PROJECT_ENVIRONMENT": str(shared_env)})
    run([str(shared_env / "bin" / "ruff"), "check", "--quiet", "src"], project)
    run([str(shared_env / "bin" / "mypy"), "src"], project)
