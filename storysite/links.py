"""Relative links in a body (other-story.md, photo.jpg) become site URLs; a dead one is reported."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from html import escape, unescape
from pathlib import Path
from urllib.parse import unquote

from .urls import is_external

_ATTRIBUTE = re.compile(r'(\s(?:href|src)=")([^"]*)(")')
_SPLIT = re.compile(r"^([^?#]*)(.*)$", re.S)
# Every attribute that holds a URL, quoted either way, in body HTML (raw HTML blocks included).
_URL_ATTRIBUTE = re.compile(r"""(\s(?:href|src|poster|srcset)\s*=\s*)(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)


def resolve_ref(ref: str, source_dir: Path, targets: Mapping[Path, str]) -> str | None:
    """The URL for a relative reference from a file in `source_dir`; None when nothing is there.

    References that leave the site or name a site path (https:, mailto:, /x, #x) come back as they are.
    """
    if not ref or is_external(ref) or ref.startswith(("/", "#", "?")):
        return ref
    path_part, rest = _SPLIT.match(ref).groups()  # type: ignore[union-attr]
    target = Path(os.path.normpath(source_dir / unquote(path_part)))
    if target in targets:
        return targets[target] + rest
    if (target / "index.md") in targets:
        return targets[target / "index.md"] + rest
    return None


def rewrite_links(html: str, source_dir: Path, targets: Mapping[Path, str]) -> tuple[str, list[str]]:
    """Rewrite href and src attributes of body HTML; return the new HTML and the dead references."""
    if 'href="' not in html and 'src="' not in html:
        return html, []  # nothing to rewrite: a plain substring test is far quicker than the pattern
    dead: list[str] = []

    def rewrite(match: re.Match[str]) -> str:
        ref = match.group(2).replace("&amp;", "&")
        url = resolve_ref(ref, source_dir, targets)
        if url is None:
            dead.append(ref)
            return match.group(0)
        return match.group(1) + url.replace("&", "&amp;").replace('"', "&quot;") + match.group(3)

    return _ATTRIBUTE.sub(rewrite, html), dead


def absolute_links(html: str, resolve: Callable[[str], str]) -> str:
    """Body HTML with every link and image made absolute by `resolve` (for feeds, which have no page)."""

    def absolute(match: re.Match[str]) -> str:
        quoted = match.group(2) if match.group(2) is not None else match.group(3)
        value = unescape(quoted)
        if match.group(1).strip().lower().startswith("srcset"):
            value = ", ".join(_absolute_candidate(c, resolve) for c in value.split(",") if c.strip())
        else:
            value = resolve(value.strip())
        return match.group(1) + '"' + escape(value, quote=True) + '"'

    return _URL_ATTRIBUTE.sub(absolute, html)


def _absolute_candidate(candidate: str, resolve: Callable[[str], str]) -> str:
    """One "image.jpg 2x" of a srcset."""
    url, *size = candidate.split()
    return " ".join([resolve(url), *size])
