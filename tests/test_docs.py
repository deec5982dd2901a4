"""The documentation site builds (strict, offline) and names what the code has."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from .conftest import ASKED, ROOT, choices, render, run

DOCS = ROOT / "docs"
ANSWERS_PAGE = DOCS / "answers.md"
ENV_EXAMPLE = ROOT / "template" / ".env.example.jinja"


def _all_docs() -> str:
    return "\n".join(page.read_text() for page in sorted(DOCS.rglob("*.md")))


def test_site_builds_strictly(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--site-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "index.html").is_file()
    assert (tmp_path / "architecture" / "index.html").is_file()


def test_every_page_is_in_the_nav() -> None:
    # BaseLoader: mkdocs.yml has a !!python/name tag, and BaseLoader builds no objects.
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)

    def pages(node: object) -> list[str]:
        if isinstance(node, str):
            return [node]
        if isinstance(node, list):
            return [p for item in node for p in pages(item)]
        if isinstance(node, dict):
            return [p for value in node.values() for p in pages(value)]
        return []

    in_nav = set(pages(config["nav"]))
    on_disk = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert on_disk == in_nav


@pytest.mark.parametrize("name", sorted(ASKED))
def test_answers_page_names_every_question(name: str) -> None:
    assert f"`{name}`" in ANSWERS_PAGE.read_text()


@pytest.mark.parametrize("name", sorted(n for n in ASKED if "choices" in ASKED[n]))
def test_answers_page_names_every_choice(name: str) -> None:
    page = ANSWERS_PAGE.read_text()
    missing = [value for value in choices(name) if f"`{value}`" not in page]
    assert not missing, f"{name}: values {missing} are not on the answers page"


def test_docs_name_every_setting() -> None:
    settings = re.findall(r"^([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.MULTILINE)
    assert len(settings) > 20, "expected the settings of .env.example"
    docs = _all_docs()
    missing = [name for name in settings if name not in docs]
    assert not missing, f"settings not documented: {missing}"


# --- every Python snippet type-checks in a rendered project --------------------------------

#: A fence's opening line, its code, and the line before it (where a marker goes).
FENCE = re.compile(
    r"^(?P<before>[^\n]*)\n(?P<indent> *)```python\n(?P<code>.*?)^(?P=indent)```", re.M | re.S
)
#: ``<!-- docs-test: file=<path in the project> -->`` or ``<!-- docs-test: skip: <reason> -->``.
MARKER = re.compile(r"<!-- docs-test: (?P<what>file=\S+|skip: .+?) -->")
#: Pages whose snippets need other answers than the defaults.
PAGE_ANSWERS: dict[str, dict[str, str]] = {
    "resolution/jwt.md": {"resolution": "jwt", "auth": "none"},
    "resolution/custom.md": {"resolution": "custom"},
}
PACKAGE = "my_saas_service"


@dataclass(frozen=True)
class Snippet:
    page: str
    line: int
    code: str
    #: Where it goes in the rendered project.
    path: str
    answers: tuple[tuple[str, str], ...]

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def _snippets() -> tuple[list[Snippet], list[str]]:
    """Every ```python block of the docs, and the skip markers' reasons."""
    snippets, skipped = [], []
    for page in sorted(DOCS.rglob("*.md")):
        name = str(page.relative_to(DOCS))
        text = page.read_text()
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start("indent")) + 1
            marker = MARKER.search(match["before"])
            what = marker["what"] if marker else ""
            if what.startswith("skip: "):
                skipped.append(f"{name}:{line}: {what}")
                continue
            module = re.sub(r"\W", "_", name.removesuffix(".md"))
            default = f"src/{PACKAGE}/docs_snippets/{module}_{line}.py"
            snippets.append(
                Snippet(
                    page=name,
                    line=line,
                    code=textwrap.dedent(match["code"]),
                    path=what.removeprefix("file=") or default,
                    answers=tuple(sorted(PAGE_ANSWERS.get(name, {}).items())),
                )
            )
    return snippets, skipped


SNIPPETS, SKIPPED = _snippets()


def test_snippets_are_found_and_skips_stay_rare() -> None:
    assert len(SNIPPETS) >= 15, "the docs' Python snippets were not found"
    assert len(SKIPPED) <= 2, SKIPPED


@pytest.fixture(scope="module")
def mypy_errors(
    tmp_path_factory: pytest.TempPathFactory, uv: str, shared_env: Path
) -> Callable[[Snippet], list[str]]:
    """mypy --strict over every snippet, once per set of answers; errors by snippet."""
    results: dict[tuple[tuple[str, str], ...], dict[str, list[str]]] = {}
    cache = tmp_path_factory.mktemp("mypy-cache")

    def check(answers: tuple[tuple[str, str], ...]) -> dict[str, list[str]]:
        project = render(tmp_path_factory.mktemp("docs-project"), **dict(answers))
        run([uv, "sync", "--quiet"], project, {"UV_PROJECT_ENVIRONMENT": str(shared_env)})
        (project / "src" / PACKAGE / "docs_snippets").mkdir()
        (project / "src" / PACKAGE / "docs_snippets" / "__init__.py").touch()
        paths = []
        for snippet in SNIPPETS:
            if snippet.answers == answers:
                target = project / snippet.path
                assert not target.exists(), f"{snippet.id} would replace {snippet.path}"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(snippet.code)
                paths.append(snippet.path)
        mypy = str(shared_env / "bin" / "mypy")
        result = subprocess.run(
            [mypy, "--strict", "--cache-dir", str(cache), "--no-error-summary", *paths],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
        errors: dict[str, list[str]] = {}
        for line in result.stdout.splitlines():
            errors.setdefault(line.split(":", 1)[0], []).append(line)
        assert result.returncode == 0 or errors, result.stdout + result.stderr
        return errors

    def errors_of(snippet: Snippet) -> list[str]:
        if snippet.answers not in results:
            results[snippet.answers] = check(snippet.answers)
        return results[snippet.answers].get(snippet.path, [])

    return errors_of


@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda s: s.id)
def test_snippet_type_checks(snippet: Snippet, mypy_errors: Callable[[Snippet], list[str]]) -> None:
    """The snippet, as a module of a rendered project, passes mypy --strict."""
    errors = mypy_errors(snippet)
    assert not errors, f"{snippet.id} ({snippet.path}):\n" + "\n".join(errors)
