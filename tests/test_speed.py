"""Build speed features as a user meets them: --timings, progress on a terminal."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from storysite import cli
from storysite.cli import main

from .conftest import story

PIPELINE = ["config", "theme", "discover", "parse", "assemble", "relate", "render", "feeds", "write"]


@pytest.fixture
def small_site(scratch_site) -> Path:
    return scratch_site({f"content/stories/s{n}.md": story(f"Story {n}", date=f"2024-01-{n + 1:02d}") for n in range(12)})


def test_timings_table_lists_every_stage_in_pipeline_order(small_site: Path) -> None:
    result = CliRunner().invoke(main, ["build", "-s", str(small_site), "--timings"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Built 12 stories")
    lines = result.stderr.splitlines()
    lines = lines[next(i for i, line in enumerate(lines) if line.startswith("stage")):]
    assert lines[0].split() == ["stage", "wall", "s", "cpu", "s", "share", "items"]
    rows = [line.split() for line in lines[1:]]
    names = [row[0] for row in rows]
    assert [name for name in names if name in PIPELINE] == PIPELINE
    assert names[-1] == "total"
    by_name = {row[0]: row for row in rows}
    assert by_name["parse"][-1] == "12"
    wall = [float(row[1]) for row in rows[:-1]]
    assert float(by_name["total"][1]) == pytest.approx(sum(wall), abs=0.01 * len(wall))
    assert "\r" not in result.output


def test_no_timings_and_no_progress_unless_asked(small_site: Path) -> None:
    result = CliRunner().invoke(main, ["build", "-s", str(small_site)])
    assert result.exit_code == 0
    assert "stage" not in result.stderr
    assert "\r" not in result.stderr
    quiet = CliRunner().invoke(main, ["build", "-s", str(small_site), "--quiet"])
    assert quiet.output == ""


def test_progress_only_on_a_terminal_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert cli._progress_line() is not None
    monkeypatch.setenv("CI", "true")
    assert cli._progress_line() is None
    monkeypatch.delenv("CI")
    monkeypatch.setattr(cli.sys.stderr, "isatty", lambda: False, raising=False)
    assert cli._progress_line() is None


def test_progress_line_shows_stage_and_count_then_clears(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli._ProgressLine, "DELAY", 0.0)
    monkeypatch.setattr(cli._ProgressLine, "EVERY", 0.0)
    line = cli._ProgressLine()
    line.start("parse", 10)
    line.advance(5)
    shown = capsys.readouterr().err
    assert shown.split("\r")[-1].endswith("parse     [##########----------] 5/10")
    line.finish()
    assert capsys.readouterr().err == "\r\x1b[2K"
