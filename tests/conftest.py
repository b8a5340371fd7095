"""Fixture chain: a site folder on disk -> its config -> the built site, and a scratch-site factory."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Callable

import pytest

from storysite.build import BuildResult, build_site
from storysite.config import Config, load_config

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "sites"

STORY = """\
---
title: {title}
date: {date}
niche: {niche}
audience: [{audience}]
---
{body}
"""


def story(title: str = "A story", date: str = "2025-03-14", niche: str = "starting-a-business",
          audience: str = "first-time-founders", body: str = "Some words about the story.\n", **extra: str) -> str:
    """The text of a story file; extra keyword arguments become more front-matter lines."""
    text = STORY.format(title=title, date=date, niche=niche, audience=audience, body=body)
    if extra:
        lines = "".join(f"{key}: {value}\n" for key, value in extra.items())
        text = text.replace("---\n", "---\n" + lines, 1)
    return text


ScratchSite = Callable[..., Path]


@pytest.fixture
def scratch_site(tmp_path: Path) -> ScratchSite:
    """Make a site folder from {relative path: text or bytes}; text is dedented."""

    def make(files: dict[str, str | bytes], folder: str = "site") -> Path:
        root = tmp_path / folder
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(textwrap.dedent(content), encoding="utf-8")
        root.mkdir(parents=True, exist_ok=True)
        return root

    return make


def build(root: Path, **overrides: object) -> tuple[Config, BuildResult]:
    """Load a site's config with overrides and build it."""
    config = load_config(root, **overrides)
    return config, build_site(config)


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled demo site built under a sub-path, /repo/; returns the output folder."""
    out = tmp_path_factory.mktemp("demo") / "_site"
    build(REPO, base_url="https://example.github.io/repo/", output_dir=out)
    return out
