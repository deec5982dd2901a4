"""Rendering helpers shared by the template's tests.

Every answer a test passes is checked against copier.yml first: Copier ignores
unknown keys silently, so a misspelt answer would otherwise test the defaults; and a
computed answer (``when: false``) passed as data would describe a project no user gets.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import run_copy

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS: dict[str, Any] = {
    key: value
    for key, value in yaml.safe_load((ROOT / "copier.yml").read_text()).items()
    if not key.startswith("_")
}


def is_computed(spec: dict[str, Any]) -> bool:
    """A question with ``when: false`` is computed from other answers, never asked."""
    when = spec.get("when", True)
    return when is False or (isinstance(when, str) and when.strip() in {"false", "{{ false }}"})


#: The questions a user answers (prompted, or passed with ``--data``).
ASKED = {name: spec for name, spec in QUESTIONS.items() if not is_computed(spec)}
#: Answers copier.yml derives (``when: false``): ``admin_token``, named predicates...
COMPUTED = {name: spec for name, spec in QUESTIONS.items() if is_computed(spec)}


def choices(question: str) -> list[Any]:
    """The values a question accepts, read from copier.yml (not repeated here)."""
    spec = QUESTIONS[question]
    if spec.get("type") == "bool":
        return [True, False]
    raw = spec["choices"]
    return list(raw.values()) if isinstance(raw, dict) else list(raw)


def render(destination: Path, **answers: Any) -> Path:
    unknown = set(answers) - set(QUESTIONS)
    assert not unknown, f"not questions in copier.yml: {sorted(unknown)}"
    computed = set(answers) & set(COMPUTED)
    assert not computed, f"computed from other answers, not passed: {sorted(computed)}"
    run_copy(
        str(ROOT),
        destination,
        data=answers,
        defaults=True,
        vcs_ref="HEAD",
        quiet=True,
    )
    return destination


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command; on failure show its output in the assertion message."""
    result = subprocess.run(
        args, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(args)} failed in {cwd}:\n{output[-6000:]}"
    return output


def run_pytest(args: list[str], cwd: Path) -> str:
    """Run a pytest session that must pass; return its summary line.

    The last line of its standard output: its error stream is kept apart, since a thread
    of the tests (a mail server closing a connection) may log to it at any moment.
    """
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(args)} failed in {cwd}:\n{output[-6000:]}"
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def uv() -> str:
    found = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    assert Path(found).exists(), "uv not found: run the tests through `make test`"
    return found


@pytest.fixture(scope="session")
def shared_env() -> Iterator[Path]:
    """One virtual environment reused by every generated project (uv syncs it).

    Not under pytest's temporary root: run as root, the embedded PostgreSQL runs its
    binaries from this environment as a user of its own, and every pytest session that
    starts on the machine resets that root to mode 0700, locking the server out.
    """
    folder = Path(tempfile.mkdtemp(prefix="generated-venv-"))
    folder.chmod(0o755)
    yield folder / "venv"
    shutil.rmtree(folder, ignore_errors=True)
