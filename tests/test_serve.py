"""storysite serve as a writer uses it: a real server on a free port, real saves, the reload stream read."""

from __future__ import annotations

import http.client
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import lxml.html
import pytest
from click.testing import CliRunner

from storysite.cache import CACHE_DIR
from storysite.cli import main
from storysite.serve import (
    EVENTS_PATH,
    PREVIEW_DIR,
    PreviewServer,
    ServeOptions,
    serve_site,
)

from .conftest import story

# Guards against a hung test, never a speed check.
PATIENCE = 60

SITE = {
    "storysite.yaml": "title: Preview site\nbase_url: https://example.org/repo/\n",
    "content/stories/one.md": story(title="First title", date="2025-01-01", body="The first words.\n"),
    "content/stories/two.md": story(title="Second", date="2025-01-02"),
    "content/static/logo.svg": '<svg xmlns="http://www.w3.org/2000/svg"/>',
    "content/static/app.js": "console.log('hi');\n",
    "secret.txt": "TOP SECRET, beside the site but not in it\n",
}


@dataclass
class Live:
    root: Path
    server: PreviewServer

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def request(self, path: str, method: str = "GET") -> http.client.HTTPResponse:
        """Send `path` exactly as written (no client-side clean-up of ../ or %2e)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=PATIENCE)
        conn.putrequest(method, path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        response.body = response.read() if method != "HEAD" else b""  # type: ignore[attr-defined]
        conn.close()
        return response

    def page(self, path: str) -> tuple[int, lxml.html.HtmlElement]:
        response = self.request(path)
        return response.status, lxml.html.fromstring(response.body)  # type: ignore[attr-defined]

    def save(self, name: str, text: str) -> None:
        (self.root / name).write_text(text, encoding="utf-8")


class Events:
    """A reader of the Server-Sent Events stream, as a browser tab's EventSource reads it."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PATIENCE)
        self.conn.request("GET", EVENTS_PATH)
        self.response = self.conn.getresponse()
        assert self.response.status == 200
        assert self.response.getheader("Content-Type") == "text/event-stream"

    def next_state(self) -> str:
        """The data of the next `state` event (the first one is the state on connecting)."""
        event = None
        give_up = time.monotonic() + PATIENCE
        while time.monotonic() < give_up:
            line = self.response.fp.readline().decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: ") and event == "state":
                return line[len("data: ") :]
            elif not line:
                event = None
        raise AssertionError("no state event came")

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def live(scratch_site) -> Iterator[Live]:
    root = scratch_site(SITE)
    ready = threading.Event()
    servers: list[PreviewServer] = []

    def on_ready(server: PreviewServer) -> None:
        servers.append(server)
        ready.set()

    thread = threading.Thread(target=serve_site, args=(root, ServeOptions(port=0), on_ready), daemon=True)
    thread.start()
    assert ready.wait(PATIENCE), "the server never came up"
    yield Live(root, servers[0])
    servers[0].shutdown()
    thread.join(PATIENCE)
    assert not thread.is_alive()


def overlay_text(tree: lxml.html.HtmlElement) -> str | None:
    found = tree.xpath("//*[@id='storysite-error']")
    return found[0].text_content() if found else None


def test_the_site_is_served_under_its_base_path(live: Live) -> None:
    status, tree = live.page("/repo/")
    assert status == 200
    assert tree.xpath("//title/text()")[0].startswith("Preview site")
    assert [s for s in tree.xpath("//script/text()") if EVENTS_PATH in s], "served pages carry the reload script"
    assert overlay_text(tree) is None
    for path in ("/", "/repo"):
        response = live.request(path)
        assert (response.status, response.getheader("Location")) == (302, "/repo/")
    response = live.request("/repo/stories/one")
    assert (response.status, response.getheader("Location")) == (302, "/repo/stories/one/")
    # The reload script is added as pages are served: never written, and _site/ is not touched.
    preview = live.root / CACHE_DIR / PREVIEW_DIR
    assert EVENTS_PATH.encode() not in (preview / "index.html").read_bytes()
    assert not any(EVENTS_PATH.encode() in p.read_bytes() for p in preview.rglob("*") if p.is_file())
    assert not (live.root / "_site").exists()


def test_a_save_rebuilds_and_reloads_open_pages(live: Live) -> None:
    events = Events(live.port)
    first = events.next_state()
    live.save("content/stories/one.md", story(title="A better title", date="2025-01-01", body="New words.\n"))
    assert events.next_state() != first, "a reload event follows the save"
    status, tree = live.page("/repo/stories/one/")
    assert status == 200
    assert tree.xpath("//h1/text()") == ["A better title"]
    assert "New words." in tree.text_content()
    events.close()


def test_a_broken_save_shows_the_error_and_keeps_the_last_good_site(live: Live, caplog: pytest.LogCaptureFixture) -> None:
    events = Events(live.port)
    state = events.next_state()
    caplog.set_level(logging.ERROR, logger="storysite")
    live.save("content/stories/one.md", "---\ntitle: First title\ndate: 2025-01-01\nniche: [unclosed\naudience: [a]\n---\nBroken.\n")
    state_broken = events.next_state()
    assert state_broken != state
    assert "content/stories/one.md:5: invalid YAML" in caplog.text, "the terminal shows the error"
    for path in ("/repo/stories/one/", "/repo/", "/repo/stories/two/"):
        status, tree = live.page(path)
        assert status == 200, "the last good site is still served"
        message = overlay_text(tree)
        assert message is not None and "content/stories/one.md:5: invalid YAML" in message
    status, tree = live.page("/repo/stories/one/")
    assert "The first words." in tree.text_content(), "the old page, not the broken one"

    live.save("content/stories/one.md", story(title="Fixed title", date="2025-01-01", body="Fixed words.\n"))
    assert events.next_state() != state_broken
    status, tree = live.page("/repo/stories/one/")
    assert overlay_text(tree) is None, "the next good save clears the overlay"
    assert tree.xpath("//h1/text()") == ["Fixed title"]
    events.close()


def test_a_template_error_names_the_template_line(live: Live) -> None:
    events = Events(live.port)
    events.next_state()
    (live.root / "templates").mkdir()
    live.save("templates/story.html", "{% extends 'base.html' %}\n{% block content %}{{ story.nope }}{% endblock %}\n")
    events.next_state()
    status, tree = live.page("/repo/stories/two/")
    assert status == 200
    message = overlay_text(tree)
    assert message is not None and "templates/story.html:2: template error" in message
    events.close()


def test_missing_pages_get_the_built_404_page(live: Live) -> None:
    status, tree = live.page("/repo/no/such/page/")
    assert status == 404
    assert tree.xpath("//body/@class") == ["kind-404"]
    assert [s for s in tree.xpath("//script/text()") if EVENTS_PATH in s]
    assert live.request("/elsewhere/").status == 404


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/repo/", "text/html; charset=utf-8"),
        ("/repo/css/storysite.css", "text/css; charset=utf-8"),
        ("/repo/feed.xml", "application/xml"),
        ("/repo/feed.json", "application/json"),
        ("/repo/logo.svg", "image/svg+xml"),
        ("/repo/app.js", "text/javascript; charset=utf-8"),
        ("/repo/robots.txt", "text/plain; charset=utf-8"),
    ],
)
def test_media_types(live: Live, path: str, media_type: str) -> None:
    for method in ("GET", "HEAD"):
        response = live.request(path, method)
        assert response.status == 200
        assert response.getheader("Content-Type") == media_type


TRAVERSALS = [
    "/repo/../secret.txt",
    "/repo/../../../../etc/passwd",
    "/repo/%2e%2e/secret.txt",
    "/repo/%2E%2E/%2e%2e/%2e%2e/etc/passwd",
    "/repo/stories/%2e%2e/%2e%2e/secret.txt",
    "/repo/..%2fsecret.txt",
    "/repo/stories%2f..%2f..%2fsecret.txt",
    "/repo/%2e%2e%2f%2e%2e%2fsecret.txt",
    "/repo/..%5csecret.txt",
    "/repo/..\\secret.txt",
    "/repo//etc/passwd",
    "/repo/%2fetc%2fpasswd",
    "//etc/passwd",
    "/etc/passwd",
    "/repo/C:%5cWindows%5cwin.ini",
    "/repo/secret.txt%00.html",
    "/repo/%252e%252e/secret.txt",
    "/repo/%c0%ae%c0%ae/secret.txt",
    "/repo/link-out/secret.txt",
    "/repo/file-link.txt",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_nothing_outside_the_built_site_is_served(live: Live, path: str) -> None:
    preview = live.root / CACHE_DIR / PREVIEW_DIR
    if not (preview / "link-out").is_symlink():
        # Symlinks that point out of the site, as a careless copy could leave them.
        (preview / "link-out").symlink_to(live.root, target_is_directory=True)
        (preview / "file-link.txt").symlink_to(live.root / "secret.txt")
    response = live.request(path)
    assert response.status in (400, 404), f"{path} answered {response.status}"
    body = response.body  # type: ignore[attr-defined]
    assert b"TOP SECRET" not in body and b"root:" not in body


def test_a_port_in_use_is_a_clear_error(scratch_site) -> None:
    root = scratch_site(SITE)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "-s", str(root), "--port", str(port)])
    assert result.exit_code == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "Traceback" not in result.output


def test_another_host_gets_a_warning(scratch_site, caplog: pytest.LogCaptureFixture) -> None:
    root = scratch_site(SITE)
    servers: list[PreviewServer] = []
    ready = threading.Event()

    def on_ready(server: PreviewServer) -> None:
        servers.append(server)
        ready.set()

    caplog.set_level(logging.WARNING, logger="storysite")
    thread = threading.Thread(target=serve_site, args=(root, ServeOptions(host="0.0.0.0", port=0), on_ready), daemon=True)
    thread.start()
    assert ready.wait(PATIENCE)
    servers[0].shutdown()
    thread.join(PATIENCE)
    assert "serving on 0.0.0.0: anyone who can reach this machine can read the preview" in caplog.text


def test_ctrl_c_stops_cleanly(scratch_site) -> None:
    root = scratch_site(SITE)
    # The server must start with Ctrl-C's default meaning, whatever this process inherited (tests run in
    # the background of a shell without job control inherit SIGINT ignored, and so would the server): a
    # handler here becomes the default in the child.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "storysite", "serve", "-s", str(root), "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    finally:
        signal.signal(signal.SIGINT, inherited)
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if line.startswith("Serving http://127.0.0.1:"):
                break
        else:
            pytest.fail("the server never said where it serves")
        assert line.rstrip().endswith("/repo/ (Ctrl-C stops)")
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=PATIENCE)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in err and "Traceback" not in out


def test_serve_help_lists_its_options() -> None:
    output = CliRunner().invoke(main, ["serve", "--help"]).output
    for option in ("--port", "--host", "--drafts", "--future", "--open"):
        assert option in output
