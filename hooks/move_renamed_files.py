"""Copier migration to 0.1.0: carry your edits of the vendored modules that moved.

0.1.0 moved three generated modules (the table below). Copier's update merges your edits
into a file that keeps its path; a file that moves is, to Copier, one file deleted and
another added, so your edits of the old file would be dropped with it. This script runs
after Copier's update (``_migrations`` in copier.yml, stage "after") and, for each moved
module you had edited, merges your edits into the module at its new path, with the same
three-way merge and the same conflict markers Copier uses.

Where the edits come from: the old file as you committed it (``git show HEAD:<old path>``;
Copier refuses to update a repository with uncommitted changes) against the old file as
the template rendered it (the template at ``VERSION_FROM``, rendered again with your
answers). Nothing is written when you had not edited a module.

It also lists your own files that still import a moved module by its old name: it does not
rewrite your code.

Run by ``copier update --trust`` (Copier asks for ``--trust`` before running a
template's migrations); read it first, it is short.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from copier import run_copy

#: Old path -> new path, under src/<package>/ (0.1.0).
MOVED = {
    "db.py": "tenancy/db.py",
    "validation.py": "tenancy/validation.py",
    "tenancy/models.py": "tenancy/tenant.py",
}
#: Old module -> new, relative to the package, as imports name them.
RENAMED_MODULES = {
    "db": "tenancy.db",
    "validation": "tenancy.validation",
    "tenancy.models": "tenancy.tenant",
}
#: ``from <module> import`` or ``import <module>``, the module maybe relative (``..db``).
IMPORT = re.compile(r"^\s*(?:from\s+(\.*[\w.]*)\s+import\b|import\s+([\w.]+))", re.MULTILINE)
#: Copier's own conflict labels (docs/updating.md shows how to resolve them).
LABELS = ("before updating", "last update", "after updating")


def git(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=check)


def committed(path: str) -> str | None:
    """``path`` as last committed, or ``None`` if it was not in the last commit."""
    shown = git("show", f"HEAD:{path}", check=False)
    return shown.stdout if shown.returncode == 0 else None


def previous_answers() -> dict[str, object]:
    """The answers the project was generated with (the committed answers file)."""
    text = committed(".copier-answers.yml")
    if text is None:
        raise SystemExit("move_renamed_files: .copier-answers.yml is not committed")
    answers = yaml.safe_load(text)
    return answers if isinstance(answers, dict) else {}


def render_previous(answers: dict[str, object], version: str, into: Path) -> Path:
    """The project as the template at ``version`` rendered it, with these answers."""
    data = {key: value for key, value in answers.items() if not key.startswith("_")}
    run_copy(
        str(answers["_src_path"]),
        into,
        data=data,
        vcs_ref=version,
        defaults=True,
        quiet=True,
        skip_tasks=True,
    )
    return into


def merge(mine: str, base: str, upstream: Path, work: Path) -> bool:
    """Write ``upstream`` + (``mine`` - ``base``) into ``upstream``; True if it conflicts."""
    ours, common = work / "mine", work / "base"
    ours.write_text(mine)
    common.write_text(base)
    labels = [arg for label in LABELS for arg in ("-L", label)]
    result = git("merge-file", *labels, "-p", str(ours), str(common), str(upstream), check=False)
    if result.returncode < 0 or result.returncode > 127:
        raise SystemExit(f"move_renamed_files: git merge-file failed: {result.stderr}")
    upstream.write_text(result.stdout)
    return result.returncode > 0


def imported_module(line: str, path: Path, package: Path) -> str | None:
    """The absolute module an import line names (``..db`` in ``api/x.py`` -> ``pkg.db``)."""
    match = IMPORT.match(line)
    if match is None:
        return None
    module = match[1] or match[2]
    dots = len(module) - len(module.lstrip("."))
    if not dots:
        return module
    parts = [package.name, *path.relative_to(package).parent.parts]
    if dots > len(parts):
        return None
    return ".".join([*parts[: len(parts) - dots + 1], module[dots:]]).rstrip(".")


def stale_imports(package: Path) -> list[str]:
    """Lines of the project that import a moved module by its old name."""
    old_names = {f"{package.name}.{old}" for old in RENAMED_MODULES}
    found = []
    for path in sorted(package.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if imported_module(line, path, package) in old_names:
                found.append(f"{path}:{number}: {line.strip()}")
    for path in sorted(Path("tests").rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = IMPORT.match(line)
            if match and (match[1] or match[2]) in old_names:
                found.append(f"{path}:{number}: {line.strip()}")
    return found


def main() -> int:
    version_from = os.environ.get("VERSION_FROM")
    if not version_from:
        raise SystemExit("move_renamed_files: run by `copier update` (VERSION_FROM is not set)")
    answers = previous_answers()
    package = Path("src") / str(answers.get("package_name") or "")
    if not package.is_dir():
        raise SystemExit(f"move_renamed_files: no package at {package}")
    edited = {old: mine for old in MOVED if (mine := committed(f"{package}/{old}")) is not None}
    merged, conflicted = [], []
    with tempfile.TemporaryDirectory(prefix="move-renamed-") as scratch:
        work = Path(scratch)
        previous = render_previous(answers, version_from, work / "previous") / package
        for old, mine in edited.items():
            base_file, new = previous / old, package / MOVED[old]
            base = base_file.read_text() if base_file.exists() else ""
            if mine == base or not new.exists():
                continue  # not edited: the new module as upstream wrote it is right
            (conflicted if merge(mine, base, new, work) else merged).append(str(new))
            stale = package / old
            if stale.exists():
                stale.unlink()
    for path in merged:
        print(f"Moved your edits: {path}")
    for path in conflicted:
        print(f"Moved your edits, with conflicts to resolve: {path}")
    stale = stale_imports(package)
    if stale:
        moves = ", ".join(f"{old} -> {new}" for old, new in RENAMED_MODULES.items())
        print(f"These lines import a module that moved ({moves}): update them.")
        print("\n".join(f"  {line}" for line in stale))
    return 0


if __name__ == "__main__":
    sys.exit(main())
