"""The command line as a writer uses it, through click's CliRunner."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from storysite import __version__
from storysite.cli import main


def run(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert __version__ in result.output


@pytest.mark.parametrize("command", [[], ["build"], ["init"], ["new"], ["deploy"], ["gh-workflow"]])
def test_help_on_every_command(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_build_help_lists_its_options() -> None:
    output = run("build", "--help").output
    for option in ("--base-url", "--out", "--drafts", "--future", "--quiet", "--debug"):
        assert option in output


def test_init_then_build(tmp_path: Path) -> None:
    site = tmp_path / "mysite"
    result = run("init", str(site))
    assert result.exit_code == 0, result.output
    assert (site / "storysite.yaml").is_file()
    assert list((site / "content/stories").glob("*.md"))
    result = run("build", "-s", str(site))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Built 13 stories and 1 page into ")
    assert (site / "_site/index.html").is_file()
    again = run("init", str(site))
    assert again.exit_code == 1
    assert "already exists" in again.stderr


def test_build_summary_quiet_and_out(tmp_path: Path) -> None:
    run("init", str(tmp_path / "s"))
    result = run("build", "-s", str(tmp_path / "s"), "--quiet", "--out", str(tmp_path / "public"))
    assert result.exit_code == 0
    assert result.output == ""
    assert (tmp_path / "public/index.html").is_file()


def test_new_story_front_matter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1741910400")  # 2025-03-14 UTC
    (tmp_path / "storysite.yaml").write_text("title: T\naudiences:\n  founders: {title: Founders}\n", "utf-8")
    result = run("new", "Connecting the dots: part 1", "--niche", "starting-a-business", "--audience", "founders",
                 "--audience", "marketers", "--tag", "trust", "-s", str(tmp_path))
    assert result.exit_code == 0, result.output
    path = tmp_path / "content/stories/connecting-the-dots-part-1.md"
    assert path.is_file()
    front = yaml.safe_load(path.read_text("utf-8").split("---\n")[1])
    assert front["title"] == "Connecting the dots: part 1"
    assert front["date"] == dt.date(2025, 3, 14)
    assert front["niche"] == "starting-a-business"
    assert front["audience"] == ["founders", "marketers"]
    assert front["tags"] == ["trust"]
    assert "audience 'marketers' is not declared" in result.stderr
    # The new story builds as it is.
    assert run("build", "-s", str(tmp_path)).exit_code == 0
    before = path.read_bytes()
    again = run("new", "Connecting the dots: part 1", "--niche", "x", "--audience", "y", "-s", str(tmp_path))
    assert again.exit_code == 1
    assert "already exists" in again.stderr
    assert path.read_bytes() == before


def test_new_refuses_names_that_are_not_slugs(tmp_path: Path) -> None:
    result = run("new", "T", "--niche", "Not A Slug", "--audience", "a", "-s", str(tmp_path))
    assert result.exit_code == 1
    assert "write it as not-a-slug" in result.stderr
    result = run("new", "T", "--niche", "n", "--audience", "a", "--slug", "../up", "-s", str(tmp_path))
    assert result.exit_code == 1
    assert "cannot be used in a URL" in result.stderr
