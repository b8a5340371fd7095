"""Builds with a cache keep the relate stage's values: after every kind of edit, relations and output equal a cold build's."""

from __future__ import annotations

import json
import logging
import marshal
import os
import re
import zlib
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import pytest

from storysite import relate_file, relate_store
from storysite.build import cached_text_terms
from storysite.cache import CACHE_DIR, BuildCache, file_signature, version_scope
from storysite.config import Config, load_config
from storysite.model import Story
from storysite.relate import Relations, relate_stories, story_terms
from storysite.relate_file import CHANGES_FILE, STATE_FILE
from storysite.relate_state import TERMS_NAMESPACE, relate_kept, stored_terms
from storysite.relate_store import text_digest
from storysite.related_links import shown_relations
from storysite.textvec import TEXT_ANALYSIS
from tests.test_page_records import (
    cached_build,
    cold_build,
    files_of,
    site,  # noqa: F401 (a fixture)
)
from tests.test_page_records import edits as site_edits
from tests.test_relate_memo import NOW, built_model, corpus, edits, front, rewrite  # noqa: F401 (corpus: a fixture)


def test_kept_relations_equal_a_full_relate_after_every_save(corpus: tuple[Path, list[Path]], tmp_path: Path) -> None:  # noqa: F811
    root, files = corpus
    config = load_config(root, future=True)
    with BuildCache(tmp_path / "cache" / "cache.sqlite") as cache:
        kept = partial(relate_kept, config=config, now=NOW, cache=cache, terms_of=partial(cached_text_terms, cache=cache))
        stories = built_model(config).stories
        assert kept(stories) == relate_stories(stories, config, NOW)
        for name, edit in edits(root, files):
            edit()
            stories = built_model(config).stories
            full = relate_stories(stories, config, NOW)
            shown = {slug: shown_relations(ranked, config.related.weights) for slug, ranked in full.by_slug.items()}
            found = kept(stories)
            assert found == full and found.shown == shown, f"after {name}"
            found = kept(stories)
            assert found == full and found.shown == shown, f"after {name}, nothing changed since"
            assert any(full.by_slug.values())


def test_term_counts_of_another_form_are_never_taken_for_term_counts(corpus: tuple[Path, list[Path]], tmp_path: Path) -> None:  # noqa: F811
    root, _ = corpus
    config = load_config(root, future=True)
    stories = built_model(config).stories
    digests = [text_digest(story) for story in stories]
    with BuildCache(tmp_path / "cache" / "cache.sqlite") as cache:
        # As an earlier version kept them: JSON, in a namespace of another scope.
        cache.namespace(TERMS_NAMESPACE, version_scope(TEXT_ANALYSIS))
        for story, digest in zip(stories, digests):
            cache.put(TERMS_NAMESPACE, digest, story_terms(story))
    with BuildCache(tmp_path / "cache" / "cache.sqlite") as cache:
        assert cached_text_terms(stories, cache) == {story.slug: story_terms(story) for story in stories}
        # Bytes that are no term counts, in the namespace as it is now: counted afresh.
        others = [json.dumps(story_terms(stories[0])).encode(), marshal.dumps([1, 2]), marshal.dumps({"word": 1})[:-3], b""]
        for digest, other in zip(digests, others):
            cache.put_bytes(TERMS_NAMESPACE, digest, other)
        assert stored_terms(cache, digests[: len(others)]) == {}
        assert cached_text_terms(stories, cache) == {story.slug: story_terms(story) for story in stories}
        assert kept_relations(stories, config, cache) == relate_stories(stories, config, NOW)


def kept_relations(stories: Sequence[Story], config: Config, cache: BuildCache) -> Relations:
    return relate_kept(stories, config, NOW, cache, partial(cached_text_terms, cache=cache))


def relate_edits(root: Path, files: list[Path]) -> list[tuple[str, Callable[[], object]]]:
    """Edits that reach the related stories, and what can happen to the kept values between builds."""
    state = root / CACHE_DIR / STATE_FILE
    changes = state.with_name(CHANGES_FILE)
    settings = root / "storysite.yaml"
    former: list[bytes] = []
    return [
        ("words of one story repeated", lambda: rewrite(files[7], lambda t: t + "\n" + t.rsplit("\n\n", 1)[1])),
        ("a story made the newest", lambda: front(files[8], "date", "2034-12-30")),
        ("a story dated in the future", lambda: front(files[9], "date", "2036-01-01")),
        ("fewer related stories shown", lambda: rewrite(settings, lambda t: t + "related:\n  count: 2\n")),
        ("other weights", lambda: rewrite(settings, lambda t: t.replace("  count: 2\n", "  count: 2\n  weights: {text: 2, tags: 1}\n"))),
        ("recency weighed", lambda: rewrite(settings, lambda t: t.replace("{text: 2, tags: 1}", "{text: 2, tags: 1, recency: 1}"))),
        ("another story made the newest", lambda: front(files[10], "date", "2034-12-31")),
        ("the newest story made a draft", lambda: front(files[10], "draft", "true")),
        ("the kept values deleted", lambda: state.unlink()),
        ("a body again", lambda: rewrite(files[11], lambda t: t + "\nThe cooperative market of quokkas.\n")),
        ("the kept values damaged", lambda: state.write_bytes(state.read_bytes()[:-100] + b"x" * 100)),
        ("the kept values cut short", lambda: state.write_bytes(state.read_bytes()[:1000])),
        ("the kept values replaced by junk", lambda: state.write_bytes(b"not marshal data" * 64)),
        ("a title again", lambda: front(files[13], "title", '"Markets of the cooperative"')),
        ("the kept changes deleted", lambda: changes.unlink()),
        ("a summary", lambda: front(files[12], "summary", '"Quokkas, briefly."')),
        ("the kept changes damaged", lambda: changes.write_bytes(flipped(changes.read_bytes(), len(changes.read_bytes()) // 2))),
        ("words of a story taken out", lambda: rewrite(files[7], lambda t: t.rsplit("\n\n", 1)[0] + "\n")),
        ("the kept values written anew", lambda: (former.append(changes.read_bytes()), state.unlink(), front(files[15], "tags", "[trust]"))),
        ("the changes to the former values put back", lambda: (changes.write_bytes(former[0]), front(files[16], "tags", "[trust]"))),
        ("the kept values of another shape", lambda: reshaped(root)),
        ("a tag again", lambda: front(files[14], "tags", "[community]")),
    ]


def flipped(data: bytes, position: int) -> bytes:
    """`data` with one bit of one byte changed: the same size."""
    return data[:position] + bytes([data[position] ^ 1]) + data[position + 1:]


def reshaped(root: Path) -> None:
    """Kept values that load, with the right scope, but not of the shape the update reads."""
    path = root / CACHE_DIR / STATE_FILE
    state = relate_file.load_state(path, relate_store.state_scope(load_config(root).related))
    assert state is not None
    state.metas = {slug: ("a story",) for slug in state.metas}  # type: ignore[misc]
    relate_file.save_state(path, state)


def test_a_cached_build_after_each_edit_equals_a_cold_build(
    site: tuple[Path, list[Path]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    root, files = site
    out = root / "_site"
    cached_build(root)
    for what, edit in [*relate_edits(root, files), *site_edits(root, files, out)]:
        edit()
        cached_build(root)
        assert files_of(out) == cold_build(root, tmp_path / "cold"), f"after {what}"
    monkeypatch.setattr(relate_store, "__version__", "0.0.0-another")
    rewrite(files[17], lambda t: t + "\nQuokkas of the market.\n")
    cached_build(root)
    assert files_of(out) == cold_build(root, tmp_path / "cold"), "with kept values of another version"


def ranked_again(caplog: pytest.LogCaptureFixture) -> tuple[int, int]:
    found = re.findall(r"related stories of (\d+) stories ranked again, of (\d+)", caplog.text)
    ranked, stories = map(int, found[-1])
    return ranked, stories


def test_a_body_edit_ranks_again_only_the_stories_it_can_reach(
    site: tuple[Path, list[Path]], caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    root, files = site
    cached_build(root)
    rewrite(files[7], lambda t: t + "\n" + t.rsplit("\n\n", 1)[1])
    with caplog.at_level(logging.DEBUG, logger="storysite.relate_state"):
        cached_build(root)
        ranked, stories = ranked_again(caplog)
        assert 1 <= ranked < stories // 2
        (root / CACHE_DIR / STATE_FILE).unlink()
        rewrite(files[7], lambda t: t + "\nOnce more.\n")
        cached_build(root)
        assert ranked_again(caplog) == (stories, stories)


def test_a_build_without_the_cache_keeps_no_values(site: tuple[Path, list[Path]], tmp_path: Path) -> None:  # noqa: F811
    root, _ = site
    cold_build(root, tmp_path / "cold")
    assert not (root / CACHE_DIR).exists()
    cached_build(root)
    assert (root / CACHE_DIR / STATE_FILE).is_file()


def stored_state(root: Path) -> tuple[Path, Path, str]:
    path = root / CACHE_DIR / STATE_FILE
    return path, path.with_name(CHANGES_FILE), relate_store.state_scope(load_config(root).related)


def test_an_edit_stores_only_what_changed(site: tuple[Path, list[Path]], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    root, files = site
    cached_build(root)
    path, changes, scope = stored_state(root)
    written = file_signature(path.stat())
    rewrite(files[7], lambda t: t + "\nThe cooperative market of quokkas.\n")
    cached_build(root)
    assert file_signature(path.stat()) == written, "the state file was written again"
    assert 0 < changes.stat().st_size < path.stat().st_size // relate_file.REWRITE_SHARE
    monkeypatch.setattr(relate_file, "REWRITE_SHARE", path.stat().st_size * 2)  # any change is too big
    rewrite(files[8], lambda t: t + "\nThe cooperative market of quokkas.\n")
    cached_build(root)
    assert file_signature(path.stat()) != written
    assert relate_file.load_state(path, scope) is not None


def test_a_state_file_written_since_the_last_build_is_checked(site: tuple[Path, list[Path]]) -> None:  # noqa: F811
    root, _ = site
    cached_build(root)
    path, _, scope = stored_state(root)
    assert relate_file.load_state(path, scope) is not None
    data = path.read_bytes()
    for position in range(4, len(data), len(data) // 16):
        path.write_bytes(flipped(data, position))
        assert relate_file.load_state(path, scope) is None, f"a byte changed at {position} of {len(data)}"


def test_damaged_or_foreign_changes_are_not_applied(site: tuple[Path, list[Path]]) -> None:  # noqa: F811
    root, files = site
    cached_build(root)
    rewrite(files[7], lambda t: t + "\nThe cooperative market of quokkas.\n")
    cached_build(root)
    path, changes, scope = stored_state(root)
    data = changes.read_bytes()
    for position in range(0, len(data), max(1, len(data) // 16)):
        changes.write_bytes(flipped(data, position))
        assert relate_file.load_state(path, scope) is None, f"a byte changed at {position} of {len(data)}"
    changes.write_bytes(data)
    assert relate_file.load_state(path, scope) is not None
    path.unlink()
    front(files[9], "tags", "[trust]")
    cached_build(root)  # relates every story and writes a state file anew
    assert relate_file.load_state(path, scope) is not None
    changes.write_bytes(data)
    assert relate_file.load_state(path, scope) is None, "changes to the former state file were applied to the new one"


def test_a_state_file_of_another_layout_means_a_full_relate(site: tuple[Path, list[Path]]) -> None:  # noqa: F811
    # An older storysite wrote a checksum-valid file whose first bytes mean something else.
    root, _ = site
    cached_build(root)
    path, changes, scope = stored_state(root)
    changes.unlink(missing_ok=True)
    body = (2**40).to_bytes(8, "little") + b"an older layout"
    path.write_bytes(zlib.crc32(body).to_bytes(4, "little") + body)
    assert relate_file.load_state(path, scope) is None
    cached_build(root)
    assert files_of(root / "_site") == cold_build(root, root.parent / "cold")


def test_the_state_file_is_read_where_the_system_has_no_pread(
    site: tuple[Path, list[Path]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture  # noqa: F811
) -> None:
    root, files = site
    cached_build(root)
    monkeypatch.delattr(os, "pread")
    rewrite(files[7], lambda t: t + "\nThe cooperative market of quokkas.\n")
    with caplog.at_level(logging.DEBUG, logger="storysite.relate_state"):
        cached_build(root)
    ranked, stories = ranked_again(caplog)
    assert ranked < stories, "the state was not used"
    assert files_of(root / "_site") == cold_build(root, tmp_path / "cold")


def test_term_counts_packed_or_plain_relate_alike(corpus: tuple[Path, list[Path]], tmp_path: Path) -> None:  # noqa: F811
    # A cold relate goes through term counts packed, one story unpacked at a time; counts handed over
    # as plain mappings give the same relations and the same state.
    root, _ = corpus
    config = load_config(root, future=True)
    stories = built_model(config).stories
    found = {}
    for name in ("packed", "plain"):
        with BuildCache(tmp_path / name / "cache.sqlite") as cache:
            terms = partial(cached_text_terms, cache=cache) if name == "packed" else (
                lambda some: {story.slug: story_terms(story) for story in some})
            relations = relate_kept(stories, config, NOW, cache, terms)
            state = relate_file.load_state(tmp_path / name / STATE_FILE, relate_store.state_scope(config.related))
        assert state is not None
        found[name] = relations, {field: getattr(state, field) for field in ("slugs", "holders", "vectors", "ranked", "shown", "candidates", "postings")}
    assert found["packed"] == found["plain"]
    assert found["packed"][0] == relate_stories(stories, config, NOW)
