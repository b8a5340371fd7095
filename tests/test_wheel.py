"""Install storysite from a freshly built wheel into a new virtual environment and use it.

This catches what tests against the checkout cannot: a theme or starter file missing from the wheel,
or code that only works because the repository happens to sit next to the package.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from storysite import __version__

from .conftest import REPO

pytestmark = pytest.mark.slow

WHEEL_FILES = (
    "storysite/themes/default/templates/base.html",
    "storysite/themes/magazine/theme.yaml",
    "storysite/starter/storysite.yaml",
    "storysite/workflows/pages.yml",
)


def _ignore_like_git(root: Path):
    """A copytree `ignore` that leaves out .git and whatever the repository's .gitignore names."""
    anchored, anywhere = {".git"}, set()
    for line in (root / ".gitignore").read_text(encoding="utf-8").splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith(("#", "!")):
            continue
        pattern = pattern.rstrip("/")
        if pattern.startswith("/"):
            anchored.add(pattern.lstrip("/"))
        else:
            anywhere.add(pattern)

    def ignore(folder: str, names: list[str]) -> set[str]:
        patterns = anywhere | (anchored if Path(folder) == root else set())
        return {name for name in names if any(fnmatch.fnmatch(name, p) for p in patterns)}

    return ignore


def run(args: list[str | Path], cwd: Path, timeout: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command; fail the test with its output when it does not exit 0."""
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(map(str, args))} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def build_wheel(tmp_path: Path) -> Path:
    """Build a wheel from a copy of the repository's own files (no venv, no _site, no caches)."""
    source = tmp_path / "source"
    shutil.copytree(REPO, source, ignore=_ignore_like_git(REPO))
    dist = tmp_path / "dist"
    isolation = ["--no-isolation"] if importlib.util.find_spec("hatchling") else []
    run([sys.executable, "-m", "build", "--wheel", *isolation, "--outdir", dist, source], cwd=source, timeout=600)
    wheels = sorted(dist.glob("storysite-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def venv_env(venv: Path) -> dict[str, str]:
    """The environment of a shell with `venv` activated, and nothing pointing back at the checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = str(venv / "bin") + os.pathsep + env.get("PATH", "")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def test_wheel_installs_into_a_fresh_venv_and_builds_a_new_site(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert [name for name in WHEEL_FILES if name not in names] == []
    assert f"storysite-{__version__}-" in wheel.name

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], cwd=tmp_path, timeout=180)
    env = venv_env(venv)
    python, storysite = venv / "bin" / "python", venv / "bin" / "storysite"
    run([python, "-m", "pip", "install", "--no-input", wheel], cwd=tmp_path, timeout=900, env=env)

    work = tmp_path / "work"
    work.mkdir()
    assert not work.resolve().is_relative_to(REPO)
    version = run([storysite, "--version"], cwd=work, timeout=60, env=env)
    assert __version__ in version.stdout

    run([storysite, "init", "mysite", "--github-pages"], cwd=work, timeout=120, env=env)
    run([storysite, "build"], cwd=work / "mysite", timeout=300, env=env)
    site = work / "mysite" / "_site"
    assert (site / "index.html").is_file()
    assert sorted(site.glob("stories/*/index.html")), "the starter site built no story page"
    assert (work / "mysite" / ".github" / "workflows" / "pages.yml").is_file()

    where = run(
        [python, "-c", "import storysite, storysite.scaffold as s; print(storysite.__file__); print(s.starter_folder())"],
        cwd=work, timeout=60, env=env,
    ).stdout.splitlines()
    module_file, starter = (Path(line).resolve() for line in where)
    assert module_file.is_relative_to(venv.resolve()), module_file
    assert starter.is_relative_to(venv.resolve()), f"init copied its starter from {starter}, not the installed package"
