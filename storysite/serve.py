"""The live preview: build, serve the last good site under its base path, rebuild on save, reload tabs.

The preview is built by the same `build_site` as `storysite build`, into a folder of its own
(.storysite-cache/preview/), so drafts shown with --drafts never reach _site/. Links keep working
locally because every page links by path with the base path (SiteUrls.url), and the site is served
under that same path: a base URL of https://user.github.io/repo/ is previewed at
http://127.0.0.1:8000/repo/. The reload script and the error overlay are added to HTML responses
as they are sent, never to the built files.
"""

from __future__ import annotations

import errno
import gc
import html
import ipaddress
import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from .build import BuildResult, build_site
from .cache import CACHE_DIR, BuildCache, open_cache
from .config import CONFIG_FILE, Config, load_config
from .errors import StorysiteError
from .incremental import Reuse
from .markup import render_markdown
from .urls import NOT_FOUND_PATH, SiteUrls, safe_site_path

log = logging.getLogger(__name__)

EVENTS_PATH = "/__storysite__/events"
PREVIEW_DIR = "preview"
HEARTBEAT_SECONDS = 15.0

# Fixed, so a preview does not depend on the machine's /etc/mime.types; what GitHub Pages sends.
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".pdf": "application/pdf",
    ".webmanifest": "application/manifest+json",
    ".mp4": "video/mp4",
    ".mp3": "audio/mpeg",
}

RELOAD_SCRIPT = """<script>/* storysite serve: reload on rebuild */(function () {
  var seen = "%s", events = new EventSource("%s");
  events.addEventListener("state", function (e) { if (e.data !== seen) { events.close(); location.reload(); } });
})();</script>"""

OVERLAY = """<div id="storysite-error" role="alertdialog" aria-labelledby="storysite-error-title" style="position:fixed;inset:0;z-index:2147483647;overflow:auto;background:rgba(20,20,24,.94);color:#fff;font:15px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;padding:2rem">
<h1 id="storysite-error-title" style="font:bold 1.2rem system-ui,sans-serif;color:#ff8a80;margin:0 0 1rem">The last save did not build</h1>
<pre style="white-space:pre-wrap;margin:0 0 1rem">%s</pre>
<p style="font-family:system-ui,sans-serif;color:#ccc;margin:0">Still showing the last good build. Fix the file and save: this page reloads by itself.</p>
</div>"""

_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class ServeOptions:
    """What `storysite serve` was asked for."""

    host: str = "127.0.0.1"
    port: int = 8000
    drafts: bool = False
    future: bool = False
    open_browser: bool = False


class LiveSite:
    """The state the rebuild loop shares with request handlers: where the site is, and the last error."""

    def __init__(self, out_dir: Path, base_path: str) -> None:
        self.out_dir = out_dir
        self.base_path = base_path
        self.error: str | None = None
        self.version = 0
        """Changes whenever open pages should reload (a rebuild that changed files, an error, a fix)."""
        self.closing = False
        self.last_build: BuildResult | None = None
        """The last build that succeeded (its stage times say where a rebuild spends its time)."""
        self._changed = threading.Condition()

    def built(self, result: BuildResult) -> None:
        """A rebuild succeeded: clear any error; reload tabs when a file changed."""
        with self._changed:
            self.last_build = result
            if result.written or self.error is not None:
                self.version += 1
                self._changed.notify_all()
            self.error = None

    def failed(self, message: str) -> None:
        """A rebuild failed: keep the last good files, show the message over every page."""
        with self._changed:
            self.error = message
            self.version += 1
            self._changed.notify_all()

    def close(self) -> None:
        """Let every open event stream end."""
        with self._changed:
            self.closing = True
            self._changed.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Wait until the version differs from `seen` (or the timeout passes); return the version."""
        with self._changed:
            self._changed.wait_for(lambda: self.version != seen or self.closing, timeout)
            return self.version

    def page_extras(self) -> bytes:
        """What every HTML response gets before </body>: the overlay when broken, and the reload script."""
        extras = RELOAD_SCRIPT % (self.version, EVENTS_PATH)
        if self.error is not None:
            extras = OVERLAY % html.escape(self.error) + extras
        return extras.encode("utf-8")


def inject(page: bytes, extras: bytes) -> bytes:
    """Put `extras` just before the last </body>, or at the end of a page that has none."""
    ends = list(_BODY_END.finditer(page))
    if not ends:
        return page + extras
    at = ends[-1].start()
    return page[:at] + extras + page[at:]


def media_type(path: Path) -> str:
    """The Content-Type of a built file."""
    import mimetypes

    known = MEDIA_TYPES.get(path.suffix.lower())
    if known:
        return known
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def resolve_request(out_dir: Path, base_path: str, raw_path: str) -> tuple[str, Path | str | None]:
    """Map a request path to ("file", path), ("redirect", location) or ("missing", None).

    Only files inside `out_dir` are ever served: "..", encoded slashes and backslashes, absolute
    paths, NUL bytes and symlinks that point out are all "missing".
    """
    # Not urlsplit: a request for "//host/x" names a path, not a host.
    path = raw_path.split("?", 1)[0].split("#", 1)[0] or "/"
    if not path.startswith(base_path):
        if path in ("/", base_path.rstrip("/")):
            return "redirect", base_path
        return "missing", None
    encoded = path[len(base_path) :]
    if re.search(r"%(2f|5c|00)", encoded, re.IGNORECASE):
        return "missing", None
    rel = unquote(encoded, errors="strict") if encoded else ""
    if rel and not safe_site_path(rel.rstrip("/") or "."):
        return "missing", None
    if rel.rstrip("/") == "." or any(part in (".", "..") for part in rel.split("/")):
        return "missing", None
    target = out_dir / rel
    if target.is_dir():
        if rel and not rel.endswith("/"):
            return "redirect", base_path + encoded + "/"
        target = target / "index.html"
    try:
        real = target.resolve(strict=True)
    except (OSError, RuntimeError):
        return "missing", None
    if not real.is_relative_to(out_dir.resolve()) or not real.is_file():
        return "missing", None
    return "file", real


class _Handler(BaseHTTPRequestHandler):
    server: PreviewServer
    protocol_version = "HTTP/1.1"
    server_version = "storysite"

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == EVENTS_PATH:
            self._events()
            return
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _serve(self, send_body: bool) -> None:
        live = self.server.live
        try:
            kind, found = resolve_request(live.out_dir, live.base_path, self.path)
        except UnicodeDecodeError:
            kind, found = "missing", None
        if kind == "redirect":
            self._send(HTTPStatus.FOUND, b"", "text/plain; charset=utf-8", send_body, Location=str(found))
            return
        status = HTTPStatus.OK
        if kind == "missing":
            status, found = HTTPStatus.NOT_FOUND, live.out_dir / NOT_FOUND_PATH
        assert isinstance(found, Path)
        try:
            body = found.read_bytes()
        except OSError:
            body = b"<!doctype html><title>Not found</title><body><h1>Not found</h1></body>"
        content_type = media_type(found)
        if content_type.startswith("text/html"):
            body = inject(body, live.page_extras())
        self._send(status, body, content_type, send_body)

    def _send(self, status: HTTPStatus, body: bytes, content_type: str, send_body: bool, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _events(self) -> None:
        """Server-Sent Events: the site's version now, then again each time it changes."""
        live = self.server.live
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        seen = live.version
        try:
            self.wfile.write(f"retry: 1000\nevent: state\ndata: {seen}\n\n".encode())
            self.wfile.flush()
            while not live.closing:
                version = live.wait(seen, HEARTBEAT_SECONDS)
                if live.closing:
                    break
                message = f"event: state\ndata: {version}\n\n" if version != seen else ": still here\n\n"
                self.wfile.write(message.encode())
                self.wfile.flush()
                seen = version
        except (ConnectionError, OSError):
            pass  # the tab was closed

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


class PreviewServer(ThreadingHTTPServer):
    """An HTTP server that serves one LiveSite; each request in its own thread."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], live: LiveSite) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.live = live
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        """The preview's address, base path included."""
        host, port = str(self.server_address[0]), self.server_address[1]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}{self.live.base_path}"


def open_server(host: str, port: int, live: LiveSite) -> PreviewServer:
    """Bind the preview server; a port in use is a clear error, not a traceback."""
    try:
        return PreviewServer((host, port), live)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise StorysiteError(f"port {port} on {host} is already in use (another storysite serve?); choose another with --port") from None
        if exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
            raise StorysiteError(f"cannot serve on host '{host}': {exc.strerror or exc}") from None
        raise


def is_loopback(host: str) -> bool:
    """True when `host` only answers this machine (127.0.0.1, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Preview:
    """Builds the site into the preview folder and keeps `live` up to date, one rebuild at a time."""

    def __init__(self, root: Path, options: ServeOptions, cache: BuildCache) -> None:
        self.root = root
        self.options = options
        self.cache = cache
        self.out_dir = root / CACHE_DIR / PREVIEW_DIR
        config = self.load_config()
        self.config = config
        self.live = LiveSite(self.out_dir, SiteUrls(config.base_url).base_path)
        self._one_at_a_time = threading.Lock()
        self.reuse = Reuse()

    def load_config(self) -> Config:
        """The site's config as the preview builds it: its own output folder, drafts and future as asked."""
        return load_config(self.root, output_dir=self.out_dir, drafts=self.options.drafts or None, future=self.options.future or None)

    def rebuild(self, changed: set[Path] | None = None) -> bool:
        """Build once; on failure keep the last good site and show the error. True when it built.

        `changed` are the saved paths: a save outside the content folder (templates, themes,
        storysite.yaml) makes the build start afresh instead of reusing pages.
        """
        with self._one_at_a_time:
            content = self.config.content_dir
            if changed is None or any(not path.is_relative_to(content) for path in changed):
                self.reuse.forget()
                gc.unfreeze()  # what was kept may be garbage now
            built = self._rebuild()
            if built:
                # What a preview keeps between rebuilds (the site model, the memos, compiled templates) is
                # large and long-lived: once the tabs have been told (the short sleep lets the event
                # streams send first), set it aside so that the garbage collector does not walk all of it
                # again in every rebuild.
                time.sleep(0.02)
                gc.collect()
                gc.freeze()
            return built

    def _rebuild(self) -> bool:
        started = time.perf_counter()
        try:
            self.config = self.load_config()
            result = build_site(self.config, cache=self.cache, reuse=self.reuse)
        except StorysiteError as exc:
            log.error("%s", str(exc).replace("\n", "\nerror: "))
            self.live.failed(str(exc))
            return False
        except Exception as exc:  # a bug must not stop the preview: show it, keep serving
            log.exception("the build failed unexpectedly")
            self.live.failed(f"storysite failed unexpectedly: {exc!r} (run storysite build --debug for the traceback)")
            return False
        self.live.built(result)
        what = f"{len(result.written)} file{'' if len(result.written) == 1 else 's'} changed"
        log.info("Rebuilt in %.2f s: %s", time.perf_counter() - started, what)
        return True

    def watch_folders(self) -> list[Path]:
        """What a save can change: content/, the site's templates/ and themes/."""
        return [self.config.content_dir, self.root / "templates", self.root / "themes"]


def serve_site(root: Path, options: ServeOptions, on_ready: Callable[[PreviewServer], None] | None = None) -> None:
    """Build, serve and rebuild on save until Ctrl-C (or until `on_ready`'s caller shuts the server down)."""
    from .watch import SourceWatcher

    root = root.resolve()
    if not is_loopback(options.host):
        log.warning(
            "serving on %s: anyone who can reach this machine can read the preview, drafts included", options.host
        )
    with open_cache(root) as cache:
        preview = Preview(root, options, cache)
        server = open_server(options.host, options.port, preview.live)
        watcher = SourceWatcher(
            preview.watch_folders, [root / CONFIG_FILE], preview.rebuild, ignore=[root / CACHE_DIR, preview.config.output_dir],
            # Each thread has its own Markdown converter: make the rebuild thread's before the first save.
            on_start=lambda: render_markdown(""),
        )
        try:
            watcher.start()
            preview.rebuild()
            log.info("Serving %s (Ctrl-C stops)", server.url)
            if options.open_browser:
                import webbrowser

                webbrowser.open(server.url)
            if on_ready is not None:
                on_ready(server)
            server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            log.info("Stopping")
        finally:
            preview.live.close()
            server.server_close()
            watcher.stop()
