"""Every URL of the built site comes from here, so a site served under /REPO/ has no broken link."""

from __future__ import annotations

import posixpath
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath
from urllib.parse import quote, urljoin, urlsplit

# Site paths of the pages every site has; the theme links them through url() with the same paths.
TERM_FOLDERS = {"niche": "niches", "audience": "audiences", "tag": "tags"}
MAP_PATH = "map/"
ARCHIVE_PATH = "archive/"
NOT_FOUND_PATH = "404.html"

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


@dataclass(frozen=True)
class SiteUrls:
    """Turns site paths ("stories/x/") into links, honouring the base URL's path."""

    base_url: str = "/"

    @property
    def base_path(self) -> str:
        """The path part of the base URL, always starting and ending with "/"."""
        path = urlsplit(self.base_url).path or "/"
        return path if path.endswith("/") else path + "/"

    @property
    def origin(self) -> str:
        """Scheme and host of the base URL, or "" when it has none."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""

    def url(self, path: str) -> str:
        """The link to a site path, base path included: url("css/a.css") -> "/repo/css/a.css"."""
        if is_external(path):
            return path
        return _base_path(self.base_url) + _quoted(path)

    def absolute(self, path: str) -> str:
        """The full URL of a site path when the base URL has a host, else the same as url()."""
        if is_external(path):
            return path
        return self.origin + self.url(path)

    def resolve(self, ref: str, page_path: str) -> str:
        """The full URL of a link found on the page at `page_path`, as a browser resolves it there."""
        if _PLAIN_ROOTED_PATH.fullmatch(ref) and not is_external(page_path) and self.origin in ("", _web_origin(self.origin)):
            # What urljoin makes of it, sooner: every story page and home page resolves stories' URLs.
            return self.origin + ref
        return urljoin(self.absolute(page_path), ref)


_PLAIN_ROOTED_PATH = re.compile(r"/(?:[\w~!$&'()*+,=:@%-][\w.~!$&'()*+,=:@%-]*/?)*")
"""A path from the site's root that urljoin takes as it is: no empty, "." or ".." parts, no query, fragment or parameters."""


def _web_origin(origin: str) -> str:
    """The origin when its scheme is one that urljoin joins paths to (http, https), else ""."""
    return origin if origin.startswith(("http://", "https://")) else ""


@lru_cache(maxsize=8)
def _base_path(base_url: str) -> str:
    return SiteUrls(base_url).base_path


@lru_cache(maxsize=1 << 16)
def _quoted(path: str) -> str:
    # Every page links to many others: each site path is quoted once, not once per link.
    return quote(path.lstrip("/"), safe="/#?=&%~:@!$'()*+,;")


def is_external(ref: str) -> bool:
    """True for links that leave the site: a scheme (https:, mailto:) or a protocol-relative //host."""
    return bool(_SCHEME.match(ref)) or ref.startswith("//")


def terms_path(kind: str) -> str:
    """Site path of the list of all niches, audiences or tags: "niches/"."""
    return f"{TERM_FOLDERS[kind]}/"


def term_path(kind: str, slug: str) -> str:
    """Site path of one niche, audience or tag: "niches/starting-a-business/"."""
    return f"{TERM_FOLDERS[kind]}/{slug}/"


def home_path(number: int) -> str:
    """Site path of a page of the home page list: "" for the first, then "page/2/"."""
    return "" if number <= 1 else f"page/{number}/"


def output_file(site_path: str) -> str:
    """The file a site path is written to: "stories/x/" -> "stories/x/index.html"."""
    if site_path == "" or site_path.endswith("/"):
        return site_path + "index.html"
    return site_path


_PLAIN_SITE_PATH = re.compile(r"(?:\w[\w.-]*/)*(?:\w[\w.-]*)?")
"""Parts that each start with a letter, digit or "_": never "..", blank, or a drive ("c:")."""


@lru_cache(maxsize=1 << 16)
def safe_site_path(site_path: str) -> bool:
    """True when a site path stays inside the output folder (no "..", no absolute or drive parts)."""
    if _PLAIN_SITE_PATH.fullmatch(site_path):
        return True  # what nearly every path of a site looks like, answered without splitting it
    if "\\" in site_path or "\x00" in site_path or site_path.startswith("/"):
        return False
    parts = PurePosixPath(site_path).parts
    return ".." not in parts and posixpath.normpath(site_path or ".") != ".." and all(
        part.strip() and not part.endswith(":") for part in parts
    )


def expand_permalink(pattern: str, **values: str) -> str:
    """Fill a permalink pattern ("/stories/{slug}/") and return it as a site path ("stories/x/")."""
    return pattern.format(**values).lstrip("/")


def slugify(text: str) -> str:
    """A URL-safe slug of a name: "Trust & Community" -> "trust-community"; letters of any script stay."""
    normal = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[\W_]+", "-", normal).strip("-")
