"""`storysite deploy` against a real git repository and a local bare remote, both in tmp_path."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from click.testing import CliRunner

from storysite.cli import main
from storysite.deploy import commit_message, pages_address

from .conftest import story

SITE_CONFIG = "title: Deploy test\nbase_url: https://example.org/\n"


@pytest.fixture(autouse=True)
def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commits that need no global git configuration, and none of it read."""
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Site Host")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "host@example.org")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def deploy(site: Path, *args: str) -> Any:
    return CliRunner().invoke(main, ["deploy", "-s", str(site), *args])


@pytest.fixture
def site(scratch_site, tmp_path: Path) -> Path:
    """A committed site in a git repository whose origin is a bare repository beside it."""
    root = scratch_site(
        {
            "storysite.yaml": SITE_CONFIG,
            ".gitignore": "_site/\n_site.*/\n.storysite-cache/\n",
            "content/stories/first.md": story(title="First"),
            "content/stories/second.md": story(title="Second", date="2025-04-01"),
            "content/static/.well-known/security.txt": "Contact: mailto:host@example.org\n",
        }
    )
    git(root, "init", "--quiet", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "The site")
    git(tmp_path, "init", "--quiet", "--bare", "remote.git")
    git(root, "remote", "add", "origin", str(tmp_path / "remote.git"))
    return root


def remote(site: Path) -> Path:
    return site.parent / "remote.git"


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(folder).parts
    }


def published(site: Path, tmp_path: Path, name: str = "checkout") -> dict[str, bytes]:
    """gh-pages as a fresh clone of the remote checks it out."""
    git(tmp_path, "clone", "--quiet", "--branch", "gh-pages", str(remote(site)), name)
    return files_of(tmp_path / name)


def commits_on_remote(site: Path) -> list[str]:
    return git(remote(site), "rev-list", "gh-pages").splitlines()


def edited_clone(site: Path, tmp_path: Path, title: str) -> Path:
    """Another clone of the site, publishing to the same remote, with its first story retitled and committed."""
    other = tmp_path / "other"
    git(tmp_path, "clone", "--quiet", str(site), str(other))
    git(other, "remote", "set-url", "origin", str(remote(site)))
    (other / "content/stories/first.md").write_text(story(title=title), encoding="utf-8")
    git(other, "commit", "--quiet", "-am", "Edit elsewhere")
    return other


def source_state(site: Path) -> dict[str, object]:
    """Everything of the source repository that deploy must leave alone."""
    return {
        "HEAD": git(site, "rev-parse", "HEAD"),
        "branch": git(site, "symbolic-ref", "HEAD"),
        "status": git(site, "status", "--porcelain", "--untracked-files=all"),
        "index": (site / ".git" / "index").read_bytes(),
        "files": {k: v for k, v in files_of(site).items() if not k.startswith(("_site", ".storysite-cache"))},
    }


def test_deploy_publishes_the_built_site_byte_for_byte(site: Path, tmp_path: Path) -> None:
    head = git(site, "rev-parse", "HEAD")

    result = deploy(site)

    assert result.exit_code == 0, result.output
    assert "pushed to origin" in result.output
    checkout = published(site, tmp_path)
    assert checkout == files_of(site / "_site")
    assert ".nojekyll" in checkout and ".well-known/security.txt" in checkout
    assert git(remote(site), "log", "-1", "--format=%B", "gh-pages").endswith(f"from commit {head}.")
    assert git(site, "rev-parse", "gh-pages") == git(remote(site), "rev-parse", "gh-pages")


def test_deploy_leaves_working_tree_index_and_branch_as_they_were(site: Path) -> None:
    before = source_state(site)

    assert deploy(site).exit_code == 0

    assert source_state(site) == before


def test_one_changed_story_makes_exactly_one_new_commit(site: Path, tmp_path: Path) -> None:
    assert deploy(site).exit_code == 0
    first = commits_on_remote(site)
    (site / "content/stories/second.md").write_text(story(title="Second, retold", date="2025-04-01"), encoding="utf-8")
    git(site, "commit", "--quiet", "-am", "Retell the second story")

    result = deploy(site)

    assert result.exit_code == 0, result.output
    after = commits_on_remote(site)
    assert after[1:] == first and len(after) == 2
    page = lxml.html.fromstring(published(site, tmp_path)["stories/second/index.html"])
    assert [" ".join(h.text_content().split()) for h in page.xpath("//h1")] == ["Second, retold"]


def test_nothing_changed_makes_no_commit(site: Path) -> None:
    assert deploy(site).exit_code == 0
    tip = git(remote(site), "rev-parse", "gh-pages")

    result = deploy(site)

    assert result.exit_code == 0, result.output
    assert result.output.startswith("Nothing changed since the last publication")
    assert git(remote(site), "rev-parse", "gh-pages") == tip
    assert git(site, "rev-parse", "gh-pages") == tip


def test_deploy_builds_on_the_remote_branch_made_from_another_clone(site: Path, tmp_path: Path) -> None:
    assert deploy(site).exit_code == 0
    other = edited_clone(site, tmp_path, "First, from elsewhere")

    result = deploy(other)

    assert result.exit_code == 0, result.output
    assert len(commits_on_remote(site)) == 2


def test_dry_run_updates_no_branch_and_pushes_nothing(site: Path) -> None:
    result = deploy(site, "--dry-run")

    assert result.exit_code == 0, result.output
    assert "Would commit" in result.output and "dry run" in result.output
    assert git(site, "branch", "--list", "gh-pages") == ""
    assert git(remote(site), "branch", "--list") == ""


def test_message_branch_and_remote_options(site: Path, tmp_path: Path) -> None:
    git(tmp_path, "init", "--quiet", "--bare", "mirror.git")
    git(site, "remote", "add", "mirror", str(tmp_path / "mirror.git"))

    result = deploy(site, "--remote", "mirror", "--branch", "site", "--message", "Spring issue")

    assert result.exit_code == 0, result.output
    message = git(tmp_path / "mirror.git", "log", "-1", "--format=%B", "site")
    assert message.startswith("Spring issue\n\nBuilt by storysite ")
    assert git(site, "rev-parse", "HEAD") in message
    assert git(remote(site), "branch", "--list") == ""


def test_no_build_publishes_the_output_folder_as_it_is(site: Path, tmp_path: Path) -> None:
    refused = deploy(site, "--no-build")
    assert refused.exit_code == 1
    assert "no built site" in refused.stderr

    assert CliRunner().invoke(main, ["build", "-s", str(site), "--quiet"]).exit_code == 0
    (site / "_site" / "extra.txt").write_text("added by hand\n", encoding="utf-8")
    result = deploy(site, "--no-build")

    assert result.exit_code == 0, result.output
    assert published(site, tmp_path)["extra.txt"] == b"added by hand\n"


def test_the_output_folder_and_build_cache_are_no_changes_even_when_git_does_not_ignore_them(site: Path) -> None:
    (site / ".gitignore").unlink()
    git(site, "commit", "--quiet", "-am", "Ignore nothing")
    assert CliRunner().invoke(main, ["build", "-s", str(site), "--quiet"]).exit_code == 0
    assert (site / "_site").is_dir() and (site / ".storysite-cache").is_dir()

    result = deploy(site)

    assert result.exit_code == 0, result.output


def test_cname_is_published(site: Path, tmp_path: Path) -> None:
    (site / "storysite.yaml").write_text(SITE_CONFIG + "cname: blog.example.org\n", encoding="utf-8")
    git(site, "commit", "--quiet", "-am", "Custom domain")

    assert deploy(site).exit_code == 0

    assert published(site, tmp_path)["CNAME"] == b"blog.example.org\n"


def test_a_github_remote_gives_the_project_site_address(site: Path, tmp_path: Path) -> None:
    (site / "storysite.yaml").write_text("title: Deploy test\n", encoding="utf-8")
    git(site, "commit", "--quiet", "-am", "No base_url")
    github = "https://github.com/Example/blog.git"
    git(site, "remote", "set-url", "origin", github)
    git(site, "config", f"url.{remote(site)}.insteadOf", github)  # push to the bare repository instead

    result = deploy(site)

    assert result.exit_code == 0, result.output
    assert "for https://example.github.io/blog/" in result.output
    home = lxml.html.fromstring(published(site, tmp_path)["index.html"])
    assert home.xpath("//head/link[@rel='stylesheet']/@href") == ["/blog/css/storysite.css"]


# --- refusals ---------------------------------------------------------------------------------------

def test_refuses_outside_a_git_repository(scratch_site) -> None:
    root = scratch_site({"content/stories/a.md": story()}, folder="plain")

    result = deploy(root)

    assert result.exit_code == 1
    assert "is not in a git repository" in result.stderr
    assert "git init" in result.stderr
    assert not (root / "_site").exists()


def test_refuses_a_missing_remote_naming_the_ones_there_are(site: Path) -> None:
    result = deploy(site, "--remote", "upstream")

    assert result.exit_code == 1
    assert "no remote named 'upstream' (remotes here: origin; choose one with --remote)" in result.stderr
    git(site, "remote", "remove", "origin")
    assert "git remote add origin" in deploy(site).stderr


def test_refuses_uncommitted_changes_unless_forced(site: Path, tmp_path: Path) -> None:
    (site / "content/stories/first.md").write_text(story(title="First, unsaved"), encoding="utf-8")
    (site / "content/stories/third.md").write_text(story(title="Third"), encoding="utf-8")

    refused = deploy(site)

    assert refused.exit_code == 1
    assert "changes that are not committed: content/stories/first.md, content/stories/third.md" in refused.stderr
    assert "--force" in refused.stderr
    assert git(remote(site), "branch", "--list") == ""
    forced = deploy(site, "--force")
    assert forced.exit_code == 0, forced.output
    assert "with changes not yet committed" in git(remote(site), "log", "-1", "--format=%B", "gh-pages")
    assert "stories/third/index.html" in published(site, tmp_path)


def test_refuses_to_publish_onto_the_branch_checked_out(site: Path) -> None:
    result = deploy(site, "--branch", "main")

    assert result.exit_code == 1
    assert "the current branch is main" in result.stderr


def test_refuses_a_local_branch_that_has_diverged_from_the_remote(site: Path, tmp_path: Path) -> None:
    assert deploy(site).exit_code == 0
    assert deploy(edited_clone(site, tmp_path, "Elsewhere")).exit_code == 0
    (site / "content/stories/first.md").write_text(story(title="Here"), encoding="utf-8")
    git(site, "commit", "--quiet", "-am", "Edit here")
    git(site, "update-ref", "refs/heads/gh-pages", git(site, "commit-tree", "-m", "local only",
                                                       "-p", "gh-pages", "gh-pages^{tree}"))

    result = deploy(site)

    assert result.exit_code == 1
    assert "have diverged" in result.stderr and "git branch -D gh-pages" in result.stderr


# --- pure parts -------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("https://github.com/sari/blog.git", "https://sari.github.io/blog/"),
        ("https://github.com/Sari/Blog", "https://sari.github.io/Blog/"),
        ("git@github.com:sari/blog.git", "https://sari.github.io/blog/"),
        ("ssh://git@github.com/sari/blog.git", "https://sari.github.io/blog/"),
        ("https://github.com/Sari/sari.github.io.git", "https://sari.github.io/"),
        ("https://gitlab.com/sari/blog.git", None),
        ("/srv/git/blog.git", None),
    ],
)
def test_pages_address_of_a_remote(url: str, address: str | None) -> None:
    assert pages_address(url) == address


def test_a_custom_domain_wins_over_the_remote() -> None:
    assert pages_address("https://github.com/sari/blog.git", "blog.example.org") == "https://blog.example.org/"


def test_commit_message_names_the_source_commit() -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"

    assert commit_message(None, sha, False).splitlines()[0] == "Publish the site built from 0123456789ab"
    assert commit_message("Hello", sha, True).splitlines()[0] == "Hello"
    assert f"from commit {sha} with changes not yet committed." in commit_message("Hello", sha, True)
