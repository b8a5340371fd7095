"""A build looks at its output folder once, by the listing the last build left: whatever was changed there by hand is found."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from storysite import listing
from storysite.cli import main

from .conftest import story

SITE = {
    "storysite.yaml": "title: Listing site\nbase_url: https://example.org/\n",
    "content/stories/one.md": story(title="One", date="2025-01-01", body="First story.\n"),
    "content/stories/two.md": story(title="Two", date="2025-01-02", body="Second story.\n"),
    "content/stories/three.md": story(title="Three", date="2025-01-03", audience="marketers", body="Third story.\n"),
    "content/static/logo.svg": '<svg xmlns="http://www.w3.org/2000/svg"/>',
}
UNTOUCHED = "stories/two"
"""A folder of the output that the build after the first one does not write in."""


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1750000000")


@pytest.fixture(params=["settled", "within the margin"])
def times(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """How long ago the last build looked at the folder: past the margin (its folders known by their times), or within it.

    Within the margin, a file system whose folder times never move stands for one whose times are
    too coarse to show a change made so soon after: only listing those folders again finds it.
    """
    if request.param == "settled":
        monkeypatch.setattr("storysite.parsed_files.MARGIN_NS", 0)
    else:
        monkeypatch.setattr(listing, "file_signature", lambda status: [1, 1, 1, 1, 1])
    return str(request.param)


@pytest.fixture
def listed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The folders each look lists (those it was asked to; the new folders found in them are listed too)."""
    seen: list[str] = []
    real = listing._list

    def noting(out_dir: Path, folders: list[str], entries: dict[str, os.stat_result]) -> None:
        seen.extend(folders)
        real(out_dir, folders, entries)

    monkeypatch.setattr(listing, "_list", noting)
    return seen


def stage_names(root: Path, *args: str) -> list[str]:
    result = CliRunner().invoke(main, ["build", "-s", str(root), "--timings", *args])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    return [line.split()[0] for line in lines[next(i for i, line in enumerate(lines) if line.startswith("stage")) + 1 :]]


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` by path, with its bytes; the folder holds nothing else (no symlink, no hard link)."""
    found = {}
    for parent, folders, files in os.walk(folder):
        for name in folders + files:
            path = Path(parent, name)
            assert not path.is_symlink(), f"{path} is a symlink"
        for name in files:
            path = Path(parent, name)
            assert path.stat().st_nlink == 1, f"{path} is a hard link"
            found[path.relative_to(folder).as_posix()] = path.read_bytes()
    return found


def edit(root: Path, slug: str, body: str) -> None:
    path = root / f"content/stories/{slug}.md"
    front_matter = path.read_text(encoding="utf-8").rsplit("---\n", 1)[0]
    path.write_text(f"{front_matter}---\n{body}", encoding="utf-8")


def same_size_change(out: Path, keep_times: bool = False) -> None:
    page = out / UNTOUCHED / "index.html"
    before = page.stat()
    data = page.read_bytes()
    page.write_bytes(data.replace(b"Second story.", b"SECOND STORY."))
    assert page.stat().st_size == len(data)
    if keep_times:
        os.utime(page, ns=(before.st_atime_ns, before.st_mtime_ns))


def folder_to_symlink(out: Path) -> None:
    copy = out.parent / "copy-of-two"
    shutil.copytree(out / UNTOUCHED, copy)
    shutil.rmtree(out / UNTOUCHED)
    (out / UNTOUCHED).symlink_to(copy, target_is_directory=True)


def folder_to_file(out: Path) -> None:
    shutil.rmtree(out / UNTOUCHED)
    (out / UNTOUCHED).write_text("a file now", encoding="utf-8")


def file_to_folder(out: Path) -> None:
    (out / "logo.svg").unlink()
    (out / "logo.svg").mkdir()
    (out / "logo.svg/inside.txt").write_text("a folder now", encoding="utf-8")


HAND_CHANGES: dict[str, Callable[[Path], None]] = {
    "a file added to a folder the last build did not touch": lambda out: (out / UNTOUCHED / "stray.html").write_text("<p>stray</p>"),
    "a folder added inside one the last build did not touch": lambda out: (out / UNTOUCHED / "more/deeper").mkdir(parents=True),
    "a file changed in place, keeping its size": same_size_change,
    "a file changed in place, keeping its size and times": lambda out: same_size_change(out, keep_times=True),
    "a file removed": lambda out: (out / UNTOUCHED / "index.html").unlink(),
    "a folder replaced by a file": folder_to_file,
    "a folder replaced by a symlink to a copy of it": folder_to_symlink,
    "a file replaced by a folder": file_to_folder,
}


@pytest.mark.parametrize("then", ["nothing else changed", "a story edited"])
@pytest.mark.parametrize("change", HAND_CHANGES)
def test_a_change_made_by_hand_in_the_output_folder_is_found_and_corrected(
    scratch_site, tmp_path: Path, times: str, change: str, then: str
) -> None:
    root = scratch_site(SITE)
    out = root / "_site"
    stage_names(root)
    edit(root, "one", "First story, edited.\n")
    stage_names(root)  # the listing it leaves knows the folders it did not write in by their times
    HAND_CHANGES[change](out)
    if then == "a story edited":
        edit(root, "three", "Third story, edited.\n")
    assert "write" in stage_names(root), "the output folder is not as the last build left it"
    assert stage_names(root) == ["config", "theme", "discover", "total"], "and then it is"
    stage_names(root, "--no-cache", "--out", str(tmp_path / "cold"))
    assert files_of(out) == files_of(tmp_path / "cold")
    if change.endswith("symlink to a copy of it"):
        assert files_of(out.parent / "copy-of-two") == {"index.html": files_of(out)["stories/two/index.html"]}, "what it led to is left alone"


@pytest.mark.parametrize("change", HAND_CHANGES)
def test_a_change_made_by_hand_after_a_cold_build_is_found_and_corrected(scratch_site, tmp_path: Path, times: str, change: str) -> None:
    root = scratch_site(SITE)
    out = root / "_site"
    stage_names(root)  # its listing is made of the status each file was written with
    HAND_CHANGES[change](out)
    assert "write" in stage_names(root), "the output folder is not as the last build left it"
    assert stage_names(root) == ["config", "theme", "discover", "total"], "and then it is"
    stage_names(root, "--no-cache", "--out", str(tmp_path / "cold"))
    assert files_of(out) == files_of(tmp_path / "cold")


def test_a_folder_made_whole_is_known_by_its_times_only_when_it_holds_what_was_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("storysite.parsed_files.MARGIN_NS", 0)
    out = tmp_path / "out"
    for path in ("index.html", "a/index.html", "b/index.html", "b/c/index.html"):
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_text(f"<p>{path}</p>", encoding="utf-8")
    statuses = {path: listing.packed_status(os.lstat(out / path)) for path in ("index.html", "a/index.html", "b/index.html", "b/c/index.html")}
    (out / "b/stray.html").write_text("<p>not written by the build</p>", encoding="utf-8")
    left = listing.written(out, statuses)
    assert left.folders == ["", "a", "b", "b/c"]
    signatures = dict(zip(left.folders, (left.signatures[i * 40 : (i + 1) * 40] for i in range(len(left.folders)))))
    assert signatures["a"] != listing._UNKNOWN and signatures["b/c"] != listing._UNKNOWN, "known by their times"
    assert signatures["b"] == listing._UNKNOWN, "it holds a file that was not written there: listed again"
    looked = listing.look(out, left)
    assert not looked.as_left(left) and "b/stray.html" in looked.entries
    (out / "b/stray.html").unlink()
    again = listing.written(out, statuses)
    assert listing.look(out, again).as_left(again)


def test_only_the_folders_a_write_touched_are_listed_again(scratch_site, listed: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("storysite.parsed_files.MARGIN_NS", 0)
    root = scratch_site(SITE)
    stage_names(root)
    edit(root, "one", "First story, edited.\n")
    stage_names(root)
    listed.clear()
    edit(root, "one", "First story, edited again.\n")
    stage_names(root)
    assert "" in listed and "stories/one" in listed, "the folders the last write touched"
    assert UNTOUCHED not in listed and "stories" not in listed, "known by their times"
    listed.clear()
    assert stage_names(root) == ["config", "theme", "discover", "total"]
    assert UNTOUCHED not in listed


def test_folders_are_listed_again_while_their_times_are_too_recent_to_trust(scratch_site, listed: list[str]) -> None:
    root = scratch_site(SITE)
    stage_names(root)
    listed.clear()
    assert stage_names(root) == ["config", "theme", "discover", "total"]
    assert UNTOUCHED in listed, "written moments ago: a change since could have kept its times"


def test_a_listing_survives_the_build_cache_as_it_was(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "a/b").mkdir(parents=True)
    (out / "a/b/index.html").write_text("<p>b</p>", encoding="utf-8")
    (out / "index.html").write_text("<p>home</p>", encoding="utf-8")
    left = listing.look(out).left(out)
    again = listing.Listing.from_plain(left.plain())
    assert again == left and again is not None and listing.look(out, again).as_left(left)
    assert listing.Listing.from_plain([1, "", b"", "x", b""]) is None, "a value of another shape is no listing"
