"""Every page of the demo site, built with each shipped theme, passes the W3C Nu HTML Checker.

One Java process checks a whole build: every HTML page, stylesheet and SVG image.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from . import tools
from .conftest import THEMES

pytestmark = pytest.mark.browser

CHECKED = ("*.html", "*.css", "*.svg")
TIMEOUT = 300


def nu_check(files: list[Path]) -> list[dict]:
    """The checker's error messages for `files`, in one run."""
    command = [*tools.vnu_command(), "--errors-only", "--format", "json", "--stdout", "--also-check-css", "--also-check-svg"]
    result = subprocess.run([*command, *map(str, files)], capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert result.stdout.strip(), f"the checker said nothing (exit {result.returncode}): {result.stderr[-2000:]}"
    messages = json.loads(result.stdout)["messages"]
    return [m for m in messages if m.get("type") in ("error", "non-document-error")]


def checked_file(message: dict) -> Path:
    """The file a checker message is about."""
    return Path(unquote(urlsplit(message.get("url", "")).path))


def shown(message: dict, site: Path) -> str:
    """A checker message as path:line: message [extract]."""
    where = checked_file(message)
    where_shown = where.relative_to(site) if where.is_relative_to(site) else where
    extract = " ".join(message.get("extract", "").split())
    return f"{where_shown}:{message.get('lastLine', '?')}: {message.get('message')} [{extract}]"


KNOWN_BAD = {
    "known-bad.html": "<!doctype html><html lang=en><title>x</title><p>text</span>",
    "known-bad.css": "a { colr: red; }\n",
}
"""Files with one error each, checked in the same run: they prove the checker ran and reports."""


@pytest.mark.parametrize("theme", THEMES)
def test_every_page_stylesheet_and_svg_passes_the_nu_html_checker(demo_builds: Callable[[str], Path], theme: str,
                                                                   tmp_path: Path) -> None:
    site = demo_builds(theme)
    files = sorted(path for pattern in CHECKED for path in site.rglob(pattern))
    for name, text in KNOWN_BAD.items():
        (tmp_path / name).write_text(text, encoding="utf-8")

    messages = nu_check([*files, *(tmp_path / name for name in KNOWN_BAD)])

    assert any(path.suffix == ".html" for path in files)
    assert {checked_file(m).name for m in messages if checked_file(m).parent == tmp_path} == set(KNOWN_BAD)
    assert [shown(m, site) for m in messages if checked_file(m).parent != tmp_path] == []
