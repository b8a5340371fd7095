"""Rebuilds: the build cache gives the same site as a cold build, and unchanged files are left alone."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmarks.corpus import write_site
from storysite.build import build_site
from storysite.cache import CACHE_DIR, CACHE_FILE, BuildCache, open_cache
from storysite.cli import main
from storysite.config import load_config
from storysite.incremental import Reuse

from .conftest import story

SITE = {
    "storysite.yaml": "title: Cache site\nbase_url: https://example.org/blog/\npaginate: 2\n",
    "content/stories/one.md": story(title="One", date="2025-01-01", body="First *story*, with [a link](two.md).\n"),
    "content/stories/two.md": story(title="Two", date="2025-01-02", body="Second story.\n\nMore words here.\n"),
    "content/stories/three.md": story(title="Three", date="2025-01-03", audience="marketers", body="Third one.\n"),
    "content/pages/about.md": "---\ntitle: About\n---\nWho we are.\n",
    "content/static/logo.svg": '<svg xmlns="http://www.w3.org/2000/svg"/>',
}


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1750000000")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def cli_build(root: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["build", "-s", str(root), *args])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result.output


def cold_build(root: Path, out: Path) -> dict[str, bytes]:
    cli_build(root, "--no-cache", "--out", str(out))
    return snapshot(out)


def cached_build(root: Path) -> tuple[dict[str, bytes], BuildCache]:
    """A build that runs through (a story saved again, unchanged), taking from the cache what it has."""
    config = load_config(root)
    saved = sorted((root / "content/stories").glob("*.md"))[0]
    os.utime(saved, ns=(saved.stat().st_atime_ns, saved.stat().st_mtime_ns + 1_000_000_000))
    with open_cache(root) as cache:
        build_site(config, cache=cache)
    return snapshot(config.output_dir), cache


def test_a_cached_build_is_byte_identical_to_a_cold_one(scratch_site, tmp_path: Path) -> None:
    root = scratch_site(SITE)
    first, cache = cached_build(root)
    assert cache.misses >= 4 and cache.hits == 0
    second, cache = cached_build(root)
    assert cache.hits >= 4 and cache.misses == 0, "the second build takes every body from the cache"
    assert first == second == cold_build(root, tmp_path / "cold")


def test_build_no_cache_leaves_no_cache_behind(scratch_site) -> None:
    root = scratch_site(SITE)
    cli_build(root, "--no-cache")
    assert not (root / CACHE_DIR).exists()
    cli_build(root)
    assert (root / CACHE_DIR / CACHE_FILE).is_file()


@pytest.mark.parametrize(
    "damage",
    ["garbage", "half", "empty", "flipped value"],
)
def test_a_damaged_cache_is_rebuilt_never_trusted(scratch_site, tmp_path: Path, damage: str) -> None:
    root = scratch_site(SITE)
    cli_build(root)
    path = root / CACHE_DIR / CACHE_FILE
    data = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"not a database at all " * 200)
    elif damage == "half":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        # A valid file whose stored HTML is wrong: the checksum must catch it.
        with sqlite3.connect(path) as db:
            db.execute("UPDATE entries SET value = CAST('[\"<p>stale</p>\",\"stale\",1]' AS BLOB)")
        db.close()
    cli_build(root)
    assert snapshot(root / "_site") == cold_build(root, tmp_path / "cold")
    _, cache = cached_build(root)
    assert cache.hits >= 4 and cache.misses == 0, "the rebuilt cache works again"


def test_an_edit_and_a_config_change_are_never_served_stale(scratch_site, tmp_path: Path) -> None:
    root = scratch_site(SITE)
    cached_build(root)
    (root / "content/stories/two.md").write_text(story(title="Two", date="2025-01-02", body="Rewritten.\n"), encoding="utf-8")
    (root / "storysite.yaml").write_text(SITE["storysite.yaml"].replace("Cache site", "Renamed site"), encoding="utf-8")
    built, _ = cached_build(root)
    assert built == cold_build(root, tmp_path / "cold")
    assert "Rewritten." in built["stories/two/index.html"].decode()
    assert "Renamed site" in built["index.html"].decode()


def test_values_of_removed_bodies_are_forgotten(scratch_site) -> None:
    root = scratch_site(SITE)
    cached_build(root)
    (root / "content/stories/two.md").write_text(story(title="Two", date="2025-01-02", body="Rewritten.\n"), encoding="utf-8")
    (root / "content/stories/three.md").unlink()
    cached_build(root)
    with sqlite3.connect(root / CACHE_DIR / CACHE_FILE) as db:
        (count,) = db.execute("SELECT count(*) FROM entries WHERE namespace = 'markdown'").fetchone()
    db.close()
    assert count == 3, "one, the new two, about"


def test_a_changed_scope_or_version_forgets_a_namespace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.sqlite"
    with BuildCache(path) as cache:
        cache.namespace("vectors", "config A")
        cache.put("vectors", "k", {"word": 0.5})
    with BuildCache(path) as cache:
        cache.namespace("vectors", "config A")
        assert cache.get("vectors", "k") == {"word": 0.5}
    with BuildCache(path) as cache:
        cache.namespace("vectors", "config B")
        assert cache.get("vectors", "k") is None
    root = tmp_path / "site"
    root.mkdir()
    (root / "content/stories").mkdir(parents=True)
    (root / "content/stories/a.md").write_text(story(), encoding="utf-8")
    cached_build(root)
    monkeypatch.setattr("storysite.cache.__version__", "999.0")
    _, cache = cached_build(root)
    assert cache.hits == 0 and cache.misses >= 3, (
        "another storysite version converts Markdown and analyses text afresh, and knows no last build and no pages"
    )


def test_bytes_are_kept_as_given_and_damaged_ones_count_as_missing(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with BuildCache(path) as cache:
        cache.namespace("packed", "scope")
        cache.put_bytes("packed", "kept", b"\x00\xffas given")
        cache.put_bytes("packed", "damaged", b"value")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE entries SET value = CAST('other' AS BLOB) WHERE key = 'damaged'")
    db.close()
    with BuildCache(path) as cache:
        cache.namespace("packed", "scope")
        assert cache.get_many_bytes("packed", ["kept", "damaged", "absent"]) == {"kept": b"\x00\xffas given"}
        assert cache.hits == 1 and cache.misses == 2
    with BuildCache(path) as cache:
        cache.namespace("packed", "scope")
        assert cache.keys("packed") == {"kept"}, "the damaged value was dropped"


def test_a_cache_file_of_an_older_layout_is_made_anew(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with sqlite3.connect(path) as db:  # the first layout: values inside the key index
        db.executescript(
            "CREATE TABLE info (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "CREATE TABLE scopes (namespace TEXT PRIMARY KEY, scope TEXT NOT NULL);"
            "CREATE TABLE entries (namespace TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,"
            " checksum BLOB NOT NULL, PRIMARY KEY (namespace, key)) WITHOUT ROWID;"
            "INSERT INTO info VALUES ('format', 'storysite-cache-1');"
            "INSERT INTO scopes VALUES ('vectors', 'config A');"
            "INSERT INTO entries VALUES ('vectors', 'k', X'7b7d', X'00');"
        )
    db.close()
    with BuildCache(path) as cache:
        cache.namespace("vectors", "config A")
        assert cache.get("vectors", "k") is None, "values of another layout are never read"
        cache.put("vectors", "k", {"word": 0.5})
    with BuildCache(path) as cache:
        cache.namespace("vectors", "config A")
        assert cache.get("vectors", "k") == {"word": 0.5}
    with sqlite3.connect(path) as db:
        table = db.execute("SELECT sql FROM sqlite_master WHERE name = 'entries'").fetchone()[0]
    db.close()
    assert "WITHOUT ROWID" not in table


def test_an_unwritable_cache_only_costs_speed(scratch_site, tmp_path: Path) -> None:
    root = scratch_site(SITE)
    (root / CACHE_DIR).write_text("a file where the cache folder should be", encoding="utf-8")
    cli_build(root)
    assert snapshot(root / "_site") == cold_build(root, tmp_path / "cold")


# --- the writer: unchanged output files are not rewritten ---


def identities(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def test_a_rebuild_rewrites_only_changed_files(scratch_site, tmp_path: Path) -> None:
    root = scratch_site(SITE)
    cli_build(root)
    before = identities(root / "_site")
    (root / "content/stories/one.md").write_text(story(title="One", date="2025-01-01", body="New words.\n"), encoding="utf-8")
    config = load_config(root)
    result = build_site(config)
    after = identities(root / "_site")
    assert "stories/one/index.html" in result.written
    assert after["stories/one/index.html"] != before["stories/one/index.html"]
    untouched = ["stories/two/index.html", "css/storysite.css", "logo.svg", "about/index.html", ".nojekyll"]
    for path in untouched:
        assert path not in result.written
        assert after[path] == before[path], f"{path} was rewritten"
    assert snapshot(root / "_site") == cold_build(root, tmp_path / "cold")


def test_a_rebuild_removes_what_is_gone_and_repairs_links(scratch_site, tmp_path: Path) -> None:
    root = scratch_site(SITE)
    cli_build(root)
    out = root / "_site"
    (root / "content/stories/three.md").unlink()
    outside = tmp_path / "outside.txt"
    outside.write_text("not part of the site", encoding="utf-8")
    (out / "stories/two/index.html").unlink()
    (out / "stories/two/index.html").symlink_to(outside)
    os.link(out / "logo.svg", tmp_path / "hard-link-to-logo.svg")
    (out / "stray-folder/deeper").mkdir(parents=True)
    cli_build(root)
    assert not (out / "stories/three").exists()
    assert not (out / "stray-folder").exists()
    assert not [p for p in out.rglob("*") if p.is_symlink()]
    assert all(os.stat(p).st_nlink == 1 for p in out.rglob("*") if p.is_file())
    assert outside.read_text(encoding="utf-8") == "not part of the site"
    assert snapshot(out) == cold_build(root, tmp_path / "cold")


def test_a_folder_of_the_output_replaced_by_a_symlink_is_replaced_not_followed(scratch_site, tmp_path: Path) -> None:
    root = scratch_site(SITE)
    cli_build(root)
    out = root / "_site"
    copy = tmp_path / "copy-of-two"
    shutil.copytree(out / "stories/two", copy)
    shutil.rmtree(out / "stories/two")
    (out / "stories/two").symlink_to(copy, target_is_directory=True)
    (root / "content/stories/three.md").write_text(story(title="Three", date="2025-01-03", body="Edited.\n"), encoding="utf-8")
    cli_build(root)  # its page for story two is the one the symlink leads to, byte for byte
    assert not (out / "stories/two").is_symlink()
    assert snapshot(copy) == {"index.html": snapshot(out)["stories/two/index.html"]}, "what it led to is left alone"
    assert snapshot(out) == cold_build(root, tmp_path / "cold")


def test_a_file_may_become_a_folder_and_back(scratch_site, tmp_path: Path) -> None:
    root = scratch_site(SITE)
    cli_build(root)
    (root / "content/static/notes").write_text("a file", encoding="utf-8")
    cli_build(root)
    (root / "content/static/notes").unlink()
    (root / "content/static/notes").mkdir()
    (root / "content/static/notes/inside.txt").write_text("now a folder", encoding="utf-8")
    cli_build(root)
    assert snapshot(root / "_site") == cold_build(root, tmp_path / "cold")


# --- the preview's rebuilds: unchanged files not read again, unchanged pages not rendered again ---

EDITS = {
    "a body": ("content/stories/one.md", story(title="One", date="2025-01-01", body="A new *body*, with [a link](two.md).\n")),
    "a title": ("content/stories/two.md", story(title="Two, renamed", date="2025-01-02", body="Second story.\n")),
    "the tags": ("content/stories/three.md", story(title="Three", date="2025-01-03", audience="marketers", tags="[fresh, trust]")),
    "a date": ("content/stories/one.md", story(title="One", date="2025-02-01", body="Now the newest.\n")),
    "a new story": ("content/stories/four.md", story(title="Four", date="2025-01-04", niche="building-community")),
    "a page": ("content/pages/about.md", "---\ntitle: About us\nmenu: true\n---\nWho we are now.\n"),
}


def test_preview_rebuilds_match_a_cold_build_after_each_edit(scratch_site, tmp_path: Path) -> None:
    root = scratch_site(SITE)
    config = load_config(root, output_dir=root / "preview")
    reuse = Reuse()
    build_site(config, reuse=reuse)
    for name, (path, text) in EDITS.items():
        (root / path).write_text(text, encoding="utf-8")
        build_site(config, reuse=reuse)
        assert snapshot(root / "preview") == cold_build(root, tmp_path / name), f"after changing {name}"
    (root / "content/stories/two.md").unlink()
    build_site(config, reuse=reuse)
    assert snapshot(root / "preview") == cold_build(root, tmp_path / "removed")


def test_preview_keeps_pages_that_did_not_read_what_changed(scratch_site) -> None:
    root = scratch_site(SITE)
    config = load_config(root, output_dir=root / "preview")
    reuse = Reuse()
    build_site(config, reuse=reuse)
    before = identities(root / "preview")
    (root / "content/stories/one.md").write_text(
        story(title="One", date="2025-01-01", body="First *story*, with [a link](two.md). And a new sentence.\n"), encoding="utf-8"
    )
    result = build_site(config, reuse=reuse)
    assert reuse.parsed.reused == 3, "two.md, three.md and about.md are not read again"
    assert "stories/one/index.html" in result.written
    # Story two shows one as its newer neighbour, by title and link only: the body change is not its business.
    assert reuse.pages.kept > 0
    assert identities(root / "preview")["stories/two/index.html"] == before["stories/two/index.html"]


def test_preview_sees_saves_that_keep_size_and_times(scratch_site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = scratch_site(SITE)
    config = load_config(root, output_dir=root / "preview")
    reuse = Reuse()
    build_site(config, reuse=reuse)
    two = root / "content/stories/two.md"
    same_size = two.read_text(encoding="utf-8").replace("Second story.", "Secnod story.")
    # A save that puts the modification time back: its status-change time tells.
    status = two.stat()
    two.write_text(same_size, encoding="utf-8")
    os.utime(two, ns=(status.st_atime_ns, status.st_mtime_ns))
    build_site(config, reuse=reuse)
    assert snapshot(root / "preview") == cold_build(root, tmp_path / "mtime put back")
    # Two saves within the file system's timestamp granularity: every time stays as it was, so only
    # the bytes of a file saved moments ago can tell (emulated by a signature that never changes).
    monkeypatch.setattr("storysite.incremental.file_signature", lambda status: [status.st_size])
    build_site(config, reuse=reuse)
    two.write_text(same_size.replace("Secnod story.", "Second story."), encoding="utf-8")
    build_site(config, reuse=reuse)
    assert "Second story." in (root / "preview/stories/two/index.html").read_text(encoding="utf-8")
    assert snapshot(root / "preview") == cold_build(root, tmp_path / "same signature")


def test_preview_of_a_larger_site_matches_a_cold_build_after_saves_that_move_related_stories(tmp_path: Path) -> None:
    root = tmp_path / "site"
    write_site(root, 60, seed=7)
    files = sorted((root / "content/stories").glob("*.md"))
    config = load_config(root, output_dir=root / "preview")
    reuse = Reuse()
    build_site(config, reuse=reuse)
    saves = {
        "its own words again": lambda: files[5].write_text(files[5].read_text() + "\n" + files[5].read_text().rsplit("\n\n", 1)[1]),
        "another story's words": lambda: files[9].write_text(files[9].read_text() + "\n" + files[30].read_text().rsplit("---", 1)[1]),
        "other tags": lambda: files[12].write_text(files[12].read_text().replace("tags: [", "tags: [batik, ", 1)),
        "a pinned story": lambda: files[14].write_text(files[14].read_text().replace("---\n", f"---\nrelated: [{files[40].stem}]\n", 1)),
        "a new story": lambda: (root / "content/stories/new.md").write_text(files[9].read_text().replace("title:", "slug: new\ntitle:", 1)),
        "a story removed": lambda: files[40].unlink(),
    }
    for name, save in saves.items():
        save()
        build_site(config, reuse=reuse)
        assert snapshot(root / "preview") == cold_build(root, tmp_path / name), f"after {name}"
        assert reuse.pages.kept > 0


# --- the output folder a build leaves: what the next build compares with ---


def stage_names(root: Path) -> list[str]:
    result = CliRunner().invoke(main, ["build", "-s", str(root), "--timings"])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    return [line.split()[0] for line in lines[next(i for i, line in enumerate(lines) if line.startswith("stage")) + 1 :]]


@pytest.mark.parametrize("change", ["edited", "removed", "added", "stray file", "file to folder", "emptied output"])
def test_after_any_write_the_next_build_with_nothing_changed_does_nothing(scratch_site, change: str) -> None:
    root = scratch_site(SITE)
    cli_build(root)
    out = root / "_site"
    if change == "edited":
        (root / "content/stories/one.md").write_text(story(title="One", date="2025-01-01", body="New words.\n"), encoding="utf-8")
    elif change == "removed":
        (root / "content/stories/three.md").unlink()
    elif change == "added":
        (root / "content/stories/four.md").write_text(story(title="Four", date="2025-01-04", tags="[brand-new]"), encoding="utf-8")
    elif change == "stray file":
        (out / "stray/deeper").mkdir(parents=True)
        (out / "stray/deeper/file.txt").write_text("not built", encoding="utf-8")
        (out / "stories/one/index.html").write_text("damaged", encoding="utf-8")
    elif change == "file to folder":
        (root / "content/static/notes").mkdir()
        (root / "content/static/notes/inside.txt").write_text("now a folder", encoding="utf-8")
    else:
        for entry in out.iterdir():
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    assert "write" in stage_names(root)
    assert stage_names(root) == ["config", "theme", "discover", "total"], "the state the write left is the state it remembered"


def test_a_cache_file_written_since_a_build_closed_it_is_checked_again(scratch_site, tmp_path: Path) -> None:
    root = scratch_site(SITE)
    cached_build(root)
    path = root / CACHE_DIR / CACHE_FILE
    with sqlite3.connect(path) as db:
        (root_page,) = db.execute("SELECT rootpage FROM sqlite_master WHERE tbl_name = 'entries' AND type = 'index'").fetchone()
    db.close()
    data = bytearray(path.read_bytes())
    size = int.from_bytes(data[16:18], "big")
    data[(root_page - 1) * size : root_page * size] = b"\xa5" * size  # the file as long as before, its key index damaged
    path.write_bytes(bytes(data))
    status = path.stat()
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))
    cli_build(root)
    assert snapshot(root / "_site") == cold_build(root, tmp_path / "cold")
    _, cache = cached_build(root)
    assert cache.hits >= 4 and cache.misses == 0, "the damaged file was found at once and made anew"
