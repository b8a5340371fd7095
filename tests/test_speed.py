"""Build speed features as a user meets them: --timings, progress on a terminal, parallel parsing."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from storysite import cli, parallel
from storysite.cli import main
from storysite.errors import ContentError

from .conftest import REPO, build, story

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


BODY = """\
Intro with *emphasis*, **strong**, `code`, "quotes" -- and a link to [the next one]({next}.md).

## A heading {n}

- a list item
- another, with [an outside link](https://example.org/?a=1&b=2)

> A quote in Bahasa: "Kami belajar dari pasar."

Text with a footnote.[^1]

[^1]: The footnote {n}.
"""


def _many_stories(count: int) -> dict[str, str]:
    files = {"storysite.yaml": "title: Many\nbase_url: https://example.org/\npaginate: 7\n"}
    for n in range(count):
        files[f"content/stories/s{n:03d}.md"] = story(
            f"Story {n}", date=f"2024-{n % 12 + 1:02d}-{n % 28 + 1:02d}",
            audience="first-time-founders, marketers" if n % 3 else "marketers",
            body=BODY.format(n=n, next=f"s{(n + 1) % count:03d}"), tags=f"[t{n % 5}, shared]",
        )
    files["content/pages/about.md"] = "---\ntitle: About\n---\nAbout *us*.\n"
    return files


def _tree_bytes(out: Path) -> dict[str, bytes]:
    return {path.relative_to(out).as_posix(): path.read_bytes() for path in sorted(out.rglob("*")) if path.is_file()}


class _CountingPool(parallel.ProcessPoolExecutor):
    started = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        type(self).started += 1
        super().__init__(*args, **kwargs)


@pytest.fixture
def counting_pool(monkeypatch: pytest.MonkeyPatch) -> type[_CountingPool]:
    """Counts worker pools; and lets this process fork although other tests' servers run threads in it."""
    _CountingPool.started = 0
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", _CountingPool)
    monkeypatch.setattr(parallel, "_can_fork", lambda: True)
    return _CountingPool


def test_no_forking_while_other_threads_run(monkeypatch: pytest.MonkeyPatch) -> None:
    _CountingPool.started = 0
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", _CountingPool)
    stop = threading.Event()
    watcher = threading.Thread(target=stop.wait)
    watcher.start()
    try:
        assert not parallel._can_fork()
        assert parallel.fork_map(lambda index: index * index, 500, 2) == [index * index for index in range(500)]
    finally:
        stop.set()
        watcher.join()
    assert _CountingPool.started == 0


@pytest.mark.parametrize("jobs", [1, 2])
def test_fork_map_hands_every_result_to_this_process_once(jobs: int, counting_pool) -> None:
    handed: list[tuple[int, int, int]] = []
    count = parallel.MIN_ITEMS + 5 * parallel.CHUNK + 3
    results = parallel.fork_map(lambda index: index * index, count, jobs, then=lambda i, r: handed.append((i, r, os.getpid())))
    assert results == [index * index for index in range(count)]
    assert sorted(index for index, _, _ in handed) == list(range(count)), "each index once"
    assert all(result == index * index for index, result, _ in handed)
    assert {pid for _, _, pid in handed} == {os.getpid()}, "`then` runs in the calling process"
    assert counting_pool.started == (1 if jobs == 2 else 0)


def test_parallel_build_is_byte_identical_to_serial(scratch_site, tmp_path: Path, counting_pool) -> None:
    site = scratch_site(_many_stories(parallel.MIN_ITEMS + 40))
    build(site, jobs=1, output_dir=tmp_path / "serial")
    assert counting_pool.started == 0
    build(site, jobs=2, output_dir=tmp_path / "parallel")
    assert counting_pool.started >= 2, "parse and render (at least) ran on workers"
    serial, parallel_out = _tree_bytes(tmp_path / "serial"), _tree_bytes(tmp_path / "parallel")
    assert len(serial) > parallel.MIN_ITEMS
    assert serial == parallel_out


def test_demo_site_parallel_is_byte_identical(tmp_path: Path, counting_pool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "MIN_ITEMS", 2)
    monkeypatch.setattr(parallel, "CHUNK", 3)
    build(REPO, jobs=1, output_dir=tmp_path / "serial")
    build(REPO, jobs=2, output_dir=tmp_path / "parallel")
    assert counting_pool.started >= 2
    assert _tree_bytes(tmp_path / "serial") == _tree_bytes(tmp_path / "parallel")


def _problems(site: Path, jobs: int) -> list[str]:
    with pytest.raises(ContentError) as caught:
        build(site, jobs=jobs)
    return [str(problem) for problem in caught.value.problems]


def test_problems_found_by_workers_are_reported_like_serial_ones(scratch_site, counting_pool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "MIN_ITEMS", 2)
    monkeypatch.setattr(parallel, "CHUNK", 2)
    files = _many_stories(6)
    files["content/stories/s001.md"] = "---\ntitle: [unclosed\n---\nBody\n"
    files["content/stories/s004.md"] = story(date="not a date")
    site = scratch_site(files)
    messages = [_problems(site, jobs) for jobs in (1, 2)]
    assert counting_pool.started == 1
    assert messages[0] == messages[1]
    assert [m.split(":")[0] for m in messages[0]] == ["content/stories/s001.md", "content/stories/s004.md"]


def test_jobs_option_and_setting_are_checked(small_site: Path) -> None:
    assert CliRunner().invoke(main, ["build", "-s", str(small_site), "--jobs", "1"]).exit_code == 0
    bad = CliRunner().invoke(main, ["build", "-s", str(small_site), "--jobs", "-1"])
    assert bad.exit_code == 2
    (small_site / "storysite.yaml").write_text("jobs: many\n", "utf-8")
    result = CliRunner().invoke(main, ["build", "-s", str(small_site)])
    assert result.exit_code == 1
    assert "storysite.yaml:1: 'jobs' must be a whole number" in result.stderr


def test_demo_site_cold_parallel_and_cached_builds_are_byte_identical(
    tmp_path: Path, counting_pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1750000000")
    monkeypatch.setattr(parallel, "MIN_ITEMS", 2)
    monkeypatch.setattr(parallel, "CHUNK", 3)
    site = tmp_path / "demo"
    shutil.copytree(REPO / "content", site / "content")
    shutil.copy(REPO / "storysite.yaml", site)
    runs = {
        "cold": ["--no-cache", "--jobs", "1"],
        "cached-parallel": ["--jobs", "2"],
        "from-cache": ["--jobs", "2"],
        "from-cache-serial": ["--jobs", "1"],
    }
    outputs = {}
    for name, options in runs.items():
        result = CliRunner().invoke(main, ["build", "-s", str(site), "--out", str(tmp_path / name), *options])
        assert result.exit_code == 0, result.output
        outputs[name] = _tree_bytes(tmp_path / name)
    assert counting_pool.started >= 4, "the --jobs 2 builds parse and render (at least) on workers"
    assert (site / ".storysite-cache").is_dir()
    assert len(outputs["cold"]) > 50
    assert all(files == outputs["cold"] for files in outputs.values())


def test_a_template_error_on_a_worker_is_reported_like_a_serial_one(scratch_site, counting_pool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "MIN_ITEMS", 2)
    monkeypatch.setattr(parallel, "CHUNK", 2)
    files = _many_stories(6)
    files["templates/story.html"] = '{% extends "default/story.html" %}{% block content %}{{ story.no_such_field }}{% endblock %}\n'
    site = scratch_site(files)
    messages = [_problems(site, jobs) for jobs in (1, 2)]
    assert counting_pool.started >= 2
    assert messages[0] == messages[1]
    assert "story.html:1: template error:" in messages[0][0]
    assert "no_such_field" in messages[0][0]


def _cli_build(site: Path, *options: str) -> Any:
    result = CliRunner().invoke(main, ["build", "-s", str(site), *options])
    assert result.exit_code == 0, result.output
    return result


def _stage_names(stderr: str) -> list[str]:
    lines = stderr.splitlines()
    table = lines[next(i for i, line in enumerate(lines) if line.startswith("stage")) + 1 :]
    return [line.split()[0] for line in table]


def test_a_build_with_nothing_changed_does_nothing_and_still_warns(scratch_site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1750000000")
    files = _many_stories(5)
    files["content/stories/s002.md"] = story("Dead link", body="See [this](nowhere.md).\n")
    site = scratch_site(files)
    first = _cli_build(site, "--timings")
    before = _tree_bytes(site / "_site")
    mtimes = {path: path.stat().st_mtime_ns for path in (site / "_site").rglob("*")}
    again = _cli_build(site, "--timings")
    assert "render" in _stage_names(first.stderr)
    assert _stage_names(again.stderr) == ["config", "theme", "discover", "total"]
    assert again.stdout.split(" in ")[0] == first.stdout.split(" in ")[0].replace(f"{len(before)} written", "0 written")
    assert "nowhere.md" in again.stderr, "the warnings of the last build are shown again"
    assert _tree_bytes(site / "_site") == before
    assert {path: path.stat().st_mtime_ns for path in (site / "_site").rglob("*")} == mtimes


@pytest.mark.parametrize("change", ["story", "template", "config", "output", "clock", "no cache"])
def test_any_change_makes_a_real_build(scratch_site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1750000000")  # 2025-06-15
    files = _many_stories(5)
    files["content/stories/later.md"] = story("Later", date="2025-07-01")
    site = scratch_site(files)
    _cli_build(site)
    if change == "story":
        (site / "content/stories/s001.md").write_text(story("Story 1, edited"), "utf-8")
    elif change == "template":
        (site / "templates").mkdir()
        (site / "templates/story.html").write_text('{% extends "default/story.html" %}{% block content %}Own{% endblock %}\n', "utf-8")
    elif change == "config":
        (site / "storysite.yaml").write_text("title: Renamed\nbase_url: https://example.org/\npaginate: 7\n", "utf-8")
    elif change == "output":
        (site / "_site/stories/s001/index.html").write_text("damaged", "utf-8")
    elif change == "clock":
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1760000000")  # 2025-10-09: "Later" is due
    result = _cli_build(site, *(["--no-cache"] if change == "no cache" else []), "--timings")
    assert "render" in _stage_names(result.stderr)
    _cli_build(site, "--no-cache", "--out", str(tmp_path / "cold"))
    assert _tree_bytes(site / "_site") == _tree_bytes(tmp_path / "cold")
    assert (tmp_path / "cold/stories/later/index.html").exists() == (change == "clock")


def test_pages_that_list_many_stories_are_dealt_to_different_chunks_of_work() -> None:
    from storysite.render import _dealt

    weights = [1, 1, 5000, 1, 3000, *[1] * 300]
    order = _dealt(list(range(len(weights))), weights, 64)
    assert sorted(order) == list(range(len(weights)))
    chunks = [order[start : start + 64] for start in range(0, len(order), 64)]
    assert [sum(weights[i] for i in chunk) > 1000 for chunk in chunks].count(True) == 2, "one heavy page per chunk"
    assert [len(chunk) for chunk in chunks] == [64, 64, 64, 64, len(weights) - 4 * 64]
