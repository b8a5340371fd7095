"""What GitHub Pages needs from a build: no links in the output, dot-files published, CNAME."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from storysite.errors import ConfigError, ContentError

from .conftest import build, story

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"><title>x</title></svg>'


def links_in(out: Path) -> list[str]:
    """Every symlink, and every file with more than one name, under `out`."""
    found = []
    for folder, dirs, files in os.walk(out):
        for name in [*dirs, *files]:
            path = os.path.join(folder, name)
            if os.path.islink(path) or (os.path.isfile(path) and os.stat(path).st_nlink != 1):
                found.append(os.path.relpath(path, out))
    return found


def test_linked_files_and_folders_are_copied_as_plain_files(scratch_site, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    (shared / "fonts").mkdir(parents=True)
    (shared / "fonts" / "face.woff2").write_bytes(b"font bytes")
    (shared / "logo.svg").write_bytes(SVG)
    (shared / "photo.svg").write_bytes(SVG)
    root = scratch_site(
        {
            "content/stories/bundle/index.md": story(title="Bundle", body="![A photo](photo.svg)\n"),
            "content/static/robots-extra.txt": "hello\n",
        }
    )
    static = root / "content" / "static"
    (static / "fonts").symlink_to(shared / "fonts", target_is_directory=True)
    (static / "logo.svg").symlink_to(shared / "logo.svg")
    os.link(static / "robots-extra.txt", static / "robots-copy.txt")
    (root / "content" / "stories" / "bundle" / "photo.svg").symlink_to(shared / "photo.svg")

    config, _ = build(root)
    out = config.output_dir

    assert (out / "fonts" / "face.woff2").read_bytes() == b"font bytes"
    assert (out / "logo.svg").read_bytes() == SVG
    assert (out / "stories" / "bundle" / "photo.svg").read_bytes() == SVG
    assert (out / "robots-copy.txt").read_bytes() == b"hello\n"
    assert links_in(out) == []


def test_a_broken_link_is_an_error_naming_it(scratch_site) -> None:
    root = scratch_site({"content/stories/a.md": story()})
    (root / "content" / "static").mkdir()
    (root / "content" / "static" / "gone.png").symlink_to(root / "nowhere.png")

    with pytest.raises(ContentError) as caught:
        build(root)

    assert str(caught.value).startswith("content/static/gone.png: links to ")
    assert "does not exist" in str(caught.value)


def test_a_folder_linking_to_a_folder_it_is_in_is_an_error_not_a_loop(scratch_site) -> None:
    root = scratch_site({"content/stories/a.md": story(), "content/static/img/a.svg": SVG})
    (root / "content" / "static" / "img" / "again").symlink_to(root / "content" / "static", target_is_directory=True)

    with pytest.raises(ContentError, match=r"^content/static/img/again: links back to .*a folder it is in"):
        build(root)


def test_dot_named_static_files_and_folders_are_published(scratch_site) -> None:
    root = scratch_site(
        {
            "content/stories/a.md": story(),
            "content/static/.well-known/security.txt": "Contact: mailto:a@example.org\n",
            "content/static/.well-known/atproto-did": "did:plc:abc\n",
            "content/static/.hidden-note": "kept\n",
        }
    )
    config, _ = build(root)
    out = config.output_dir

    assert (out / ".well-known" / "security.txt").read_text(encoding="utf-8") == "Contact: mailto:a@example.org\n"
    assert (out / ".well-known" / "atproto-did").read_text(encoding="utf-8") == "did:plc:abc\n"
    assert (out / ".hidden-note").is_file()
    assert (out / ".nojekyll").is_file()


def test_cname_from_config_is_written_for_github_pages(scratch_site) -> None:
    root = scratch_site({"storysite.yaml": "cname: Blog.Example.org\n", "content/stories/a.md": story()})
    config, _ = build(root)

    assert (config.output_dir / "CNAME").read_text(encoding="ascii") == "blog.example.org\n"


def test_no_cname_without_the_key(scratch_site) -> None:
    config, _ = build(scratch_site({"content/stories/a.md": story()}))

    assert not (config.output_dir / "CNAME").exists()


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("https://blog.example.org/", "e.g. blog.example.org"),
        ("blog.example.org:8080", "e.g. blog.example.org"),
        ("localhost", "e.g. blog.example.org"),
        ("blog..example.org", "e.g. blog.example.org"),
    ],
)
def test_cname_must_be_a_bare_host_name(scratch_site, value: str, hint: str) -> None:
    root = scratch_site({"storysite.yaml": f"title: x\ncname: '{value}'\n", "content/stories/a.md": story()})

    with pytest.raises(ConfigError) as caught:
        build(root)

    assert str(caught.value) == f"storysite.yaml:2: '{value}' is not a bare host name (write the domain alone, {hint})"


def test_cname_and_a_static_cname_file_clash_with_both_named(scratch_site) -> None:
    root = scratch_site(
        {
            "storysite.yaml": "cname: blog.example.org\n",
            "content/static/CNAME": "other.example.org\n",
            "content/stories/a.md": story(),
        }
    )
    with pytest.raises(ContentError) as caught:
        build(root)

    assert "cname in storysite.yaml" in str(caught.value)
    assert "content/static/CNAME" in str(caught.value)
