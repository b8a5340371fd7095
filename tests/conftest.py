"""Fixture chain: a site folder on disk -> its config -> the built site, and a scratch-site factory."""

from __future__ import annotations

import contextlib
import functools
import http.server
import sys
import textwrap
import threading
from collections.abc import Iterator
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


DEMO_BASE_URL = "https://example.github.io/repo/"
THEMES = ("default", "magazine")
"""The themes that ship with storysite; the reader's checks run over the demo built with each."""


@pytest.fixture(scope="session")
def demo_builds(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """demo_builds(theme): the bundled demo site built with a theme under /repo/, once per session."""

    @functools.cache
    def built(theme: str) -> Path:
        out = tmp_path_factory.mktemp(f"demo-{theme}") / "_site"
        build(REPO, base_url=DEMO_BASE_URL, output_dir=out, theme=theme)
        return out

    return built


@pytest.fixture(scope="session")
def demo_build(demo_builds: Callable[[str], Path]) -> Path:
    """The bundled demo site built under a sub-path, /repo/; returns the output folder."""
    return demo_builds("default")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files like a static host: a missing path gets the site's own 404.html, as on GitHub Pages."""

    not_found_page: Path | None = None
    base_path: str = "/"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        if code != 404 or not self.path.startswith(self.base_path) or self.not_found_page is None \
                or not self.not_found_page.is_file():
            super().send_error(code, message, explain)
            return
        body = self.not_found_page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        # A browser that closes a page while files are still coming is no error of the site's.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@contextlib.contextmanager
def serve_site(site: Path, base_path: str) -> Iterator[str]:
    """Serve a built site on 127.0.0.1 under `base_path` ("/repo/"); yields "http://127.0.0.1:PORT/repo/"."""
    www = site.parent / "www"
    (www / base_path.strip("/")).parent.mkdir(parents=True, exist_ok=True)
    if not (www / base_path.strip("/")).exists():
        (www / base_path.strip("/")).symlink_to(site, target_is_directory=True)
    handler = type("Handler", (_QuietHandler,), {"not_found_page": site / "404.html", "base_path": base_path})
    server = _Server(("127.0.0.1", 0), functools.partial(handler, directory=str(www)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{base_path}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
