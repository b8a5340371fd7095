"""storysite.yaml as one declared, frozen value: every key has a default, a type and a check."""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError, Problem, shown_path
from .urls import safe_site_path
from .yamlload import load_yaml

CONFIG_FILE = "storysite.yaml"
SLUG_RE = re.compile(r"^[^\W_][\w.-]*$")
PERMALINK_FIELDS = ("slug", "year", "month", "day", "niche")
# A domain name with at least two labels, as GitHub Pages takes it: no scheme, port or path.
HOST_RE = re.compile(r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?")
# Feed formats and the file each is written to, in the site root and in every niche's or audience's folder.
FEED_FILES = MappingProxyType({"rss": "feed.xml", "atom": "atom.xml", "json": "feed.json"})


@dataclass(frozen=True)
class TermInfo:
    """A niche or audience the brand declares: the title and description its page shows."""

    title: str
    description: str = ""


RELATED_COMPONENTS = ("niche", "audience", "tags", "text", "recency")


@dataclass(frozen=True)
class RelatedConfig:
    """How related stories are scored (`related:` in storysite.yaml)."""

    count: int = 4
    """At most this many related stories per story (pinned ones are always shown)."""
    threshold: float = 0.2
    """Links need at least this score (0 to 1); fewer pass, fewer links, never filler."""
    weights: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({"niche": 0.1, "audience": 0.05, "tags": 0.1, "text": 1.0, "recency": 0.0})
    )
    """Weight of each component: niche, audience, tags, text, recency (0 turns one off). Text
    cosines of related stories are small (about 0.1 to 0.4), so text weighs most by default."""
    recency_days: int = 365
    """The recency component halves for every this many days a story is older than the newest one."""


@dataclass(frozen=True)
class FeedsConfig:
    """The `feeds:` section: which feeds a build writes and what their entries hold."""

    formats: tuple[str, ...] = tuple(FEED_FILES)
    """Feed formats to write: rss (RSS 2.0), atom (Atom 1.0), json (JSON Feed 1.1); none turns feeds off."""
    content: str = "full"
    """"full": each entry holds the whole story; "summary": only its summary."""
    limit: int = 20
    """Entries per feed, newest first; 0 for every story."""
    paths: Mapping[str, str] = field(default_factory=lambda: FEED_FILES)
    """File name of each format inside the folder of its site, niche, audience or tag."""
    niches: bool = True
    """A feed for every niche."""
    audiences: bool = True
    """A feed for every audience."""
    tags: bool = False
    """A feed for every tag."""
    id_host: str = ""
    """Host named in entry ids (tag:HOST,DATE:SLUG); default: base_url's host. Keep the old one when the site moves."""


@dataclass(frozen=True)
class Config:
    """The site's settings; paths are absolute, resolved against the folder of storysite.yaml."""

    root: Path
    """The site folder (where storysite.yaml is, or would be)."""
    title: str = "My stories"
    """The site's name, shown in every page header and title."""
    description: str = ""
    """One sentence about the site, for the home page and search engines."""
    base_url: str = "/"
    """Where the site is published, e.g. https://user.github.io/repo/; its path prefixes every link."""
    language: str = "en"
    """The site's language (BCP 47 code, e.g. en, id): UI strings and dates."""
    timezone: str = "UTC"
    """IANA time zone for dates written without one, e.g. Asia/Jakarta."""
    author: str = ""
    """Default author of stories that name none."""
    theme: str = "default"
    """Theme folder name: the site's themes/<name>/ first, then the themes that ship with storysite."""
    paginate: int = 10
    """Stories per page on the home page."""
    words_per_minute: int = 200
    """Reading speed used for a story's reading time."""
    strict: bool = False
    """Make warnings (undeclared niches or audiences, broken links) errors."""
    drafts: bool = False
    """Build stories marked draft: true (the --drafts option)."""
    future: bool = False
    """Build stories dated in the future (the --future option)."""
    story_permalink: str = "/stories/{slug}/"
    """URL pattern of a story; may use {slug}, {year}, {month}, {day}, {niche}."""
    niches: Mapping[str, TermInfo] = field(default_factory=lambda: MappingProxyType({}))
    """The niches the brand serves: slug -> title and description."""
    audiences: Mapping[str, TermInfo] = field(default_factory=lambda: MappingProxyType({}))
    """The audiences the brand speaks to: slug -> title and description."""
    content_dir: Path = Path("content")
    """Folder with stories/, pages/ and static/."""
    output_dir: Path = Path("_site")
    """Where the built site goes."""
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """Free-form values for themes (`extra:` in storysite.yaml)."""
    related: RelatedConfig = field(default_factory=RelatedConfig)
    """Scoring of related stories."""
    cname: str = ""
    """The custom domain GitHub Pages serves the site on (e.g. blog.example.org): written to CNAME."""
    feeds: FeedsConfig = FeedsConfig()
    """RSS, Atom and JSON feeds of the site, its niches, audiences and (if asked) tags."""
    jobs: int = 0
    """Worker processes for parsing a large site: 0 for one per core, 1 to parse in one process."""

    @property
    def config_file(self) -> Path:
        """The path of storysite.yaml (it may not exist)."""
        return self.root / CONFIG_FILE


# storysite.yaml keys that map to a Config field of another name or shape.
_KEY_TO_FIELD = {"permalinks": "story_permalink"}
_SETTABLE = sorted(
    {f.name for f in dataclasses.fields(Config)} - {"root", "story_permalink"} | set(_KEY_TO_FIELD)
)


def load_config(root: Path, **overrides: Any) -> Config:
    """Read storysite.yaml in `root` (if any), apply command-line overrides, validate everything."""
    root = root.resolve()
    path = root / CONFIG_FILE
    raw: dict[str, Any] = {}
    lines: dict[str, int] = {}
    if path.is_file():
        text = _read_text(path)
        data, lines = load_yaml(text, shown_path(path, root))
        if data is not None and not isinstance(data, dict):
            raise ConfigError(Problem(CONFIG_FILE, 1, "must be a mapping of settings", "e.g. title: My blog"))
        raw = data or {}
    checker = _Checker(CONFIG_FILE, lines)
    values = checker.check_all(raw)
    # Command-line options pass the same checks as the file's keys.
    option_checker = _Checker("command line", {})
    values.update(option_checker.check_all({k: v for k, v in overrides.items() if v is not None}))
    if checker.problems or option_checker.problems:
        raise ConfigError(checker.problems + option_checker.problems)
    config = Config(root=root, **values)
    config = dataclasses.replace(
        config,
        content_dir=(root / config.content_dir).resolve(),
        output_dir=(root / config.output_dir).resolve(),
    )
    check_output_dir(config)
    return config


def check_output_dir(config: Config) -> None:
    """Refuse an output folder that would overwrite the site's own sources."""
    out = config.output_dir
    clash = config.root if config.root.is_relative_to(out) else None
    for folder in (config.content_dir, config.root / "themes", config.root / "templates"):
        if out.is_relative_to(folder):
            clash = folder
    if clash is not None:
        raise ConfigError(
            Problem("output_dir", None, f"{out} would overwrite {clash}", "build into a folder of its own, e.g. _site")
        )


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        raise ConfigError(Problem(path.name, None, f"not UTF-8 text ({exc.reason})", "save it as UTF-8")) from None


class _Checker:
    """Converts raw YAML values to Config fields, collecting every problem instead of stopping."""

    def __init__(self, path: str, lines: dict[str, int]) -> None:
        self.path = path
        self.lines = lines
        self.problems: list[Problem] = []

    def fail(self, key: str, message: str, hint: str = "") -> None:
        self.problems.append(Problem(self.path, self.lines.get(key), message, hint))

    def unknown(self, key: str, name: str, known: list[str]) -> None:
        close = difflib.get_close_matches(name.rpartition(".")[2], known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else "known keys: " + ", ".join(known)
        self.fail(key, f"unknown setting '{name}'", hint)

    def check_all(self, raw: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, value in raw.items():
            key = str(key)
            check = getattr(self, f"_check_{key}", None)
            if key not in _SETTABLE or check is None:
                self.unknown(key, key, _SETTABLE)
                continue
            converted = check(key, value)
            if converted is not None:
                values[_KEY_TO_FIELD.get(key, key)] = converted
        return values

    def _text(self, key: str, value: Any) -> str | None:
        if value is None or isinstance(value, (dict, list)):
            self.fail(key, f"'{key}' must be text")
            return None
        return str(value)

    def _flag(self, key: str, value: Any) -> bool | None:
        if not isinstance(value, bool):
            self.fail(key, f"'{key}' must be true or false")
            return None
        return value

    def _count(self, key: str, value: Any) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.fail(key, f"'{key}' must be a whole number of at least 1")
            return None
        return value

    _check_title = _check_description = _check_author = _check_theme = _text
    _check_strict = _check_drafts = _check_future = _flag
    _check_paginate = _check_words_per_minute = _count

    def _check_base_url(self, key: str, value: Any) -> str | None:
        text = self._text(key, value)
        if text is None:
            return None
        parts = urlsplit(text)
        if parts.scheme not in ("", "http", "https") or (parts.scheme and not parts.netloc):
            self.fail(key, f"'{text}' is not a site address", "e.g. https://user.github.io/repo/ or /")
            return None
        if not parts.scheme and not text.startswith("/"):
            self.fail(key, f"'{text}' must be a full URL or start with /", "e.g. https://example.org/")
            return None
        return text if text.endswith("/") else text + "/"

    def _check_language(self, key: str, value: Any) -> str | None:
        text = self._text(key, value)
        if text is not None and not re.fullmatch(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*", text):
            self.fail(key, f"'{text}' is not a language code", "e.g. en, id, pt-BR")
            return None
        return text

    def _check_timezone(self, key: str, value: Any) -> str | None:
        from .dates import find_timezone

        text = self._text(key, value)
        if text is not None and find_timezone(text) is None:
            self.fail(key, f"unknown time zone '{text}'", "use an IANA name such as Asia/Jakarta or UTC")
            return None
        return text

    def _check_content_dir(self, key: str, value: Any) -> Path | None:
        text = None if isinstance(value, Path) else self._text(key, value)
        return value if isinstance(value, Path) else Path(text) if text else None

    _check_output_dir = _check_content_dir

    def _check_jobs(self, key: str, value: Any) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.fail(key, f"'{key}' must be a whole number: 0 for one per core, 1 for none")
            return None
        return value

    def _check_permalinks(self, key: str, value: Any) -> str | None:
        if not isinstance(value, dict) or set(value) - {"story"}:
            self.fail(key, "'permalinks' takes one key, story", "e.g. permalinks: {story: /{year}/{slug}/}")
            return None
        pattern = str(value.get("story", "/stories/{slug}/"))
        fields = set(re.findall(r"{(\w*)}", pattern))
        if "slug" not in fields or fields - set(PERMALINK_FIELDS) or not pattern.endswith("/"):
            self.fail(
                key,
                f"story permalink '{pattern}' must use {{slug}} and end with /",
                "fields: " + ", ".join("{%s}" % f for f in PERMALINK_FIELDS),
            )
            return None
        return pattern

    def _check_niches(self, key: str, value: Any) -> Mapping[str, TermInfo] | None:
        if not isinstance(value, dict):
            self.fail(key, f"'{key}' must map slugs to a title and description", "e.g. founders: {title: Founders}")
            return None
        terms: dict[str, TermInfo] = {}
        for slug, info in value.items():
            slug = str(slug)
            if not SLUG_RE.match(slug):
                self.fail(key, f"'{slug}' is not a slug", "use lowercase words joined by hyphens")
            elif isinstance(info, dict) and not set(info) - {"title", "description"}:
                title = str(info.get("title") or slug.replace("-", " ").capitalize())
                terms[slug] = TermInfo(title, str(info.get("description") or ""))
            elif isinstance(info, str) or info is None:
                terms[slug] = TermInfo(info or slug.replace("-", " ").capitalize())
            else:
                self.fail(key, f"'{slug}' must have only a title and a description")
        return MappingProxyType(terms)

    _check_audiences = _check_niches

    def _check_cname(self, key: str, value: Any) -> str | None:
        text = self._text(key, value)
        if text is None:
            return None
        host = text.strip().lower()
        if not HOST_RE.fullmatch(host):
            bare = urlsplit(host if "//" in host else "//" + host).hostname or ""
            example = bare if HOST_RE.fullmatch(bare) else "blog.example.org"
            self.fail(key, f"'{text}' is not a bare host name", f"write the domain alone, e.g. {example}")
            return None
        return host

    def _check_related(self, key: str, value: Any) -> RelatedConfig | None:
        known = [f.name for f in dataclasses.fields(RelatedConfig)]
        if not isinstance(value, dict):
            self.fail(key, "'related' must be a mapping", "e.g. related: {count: 4, threshold: 0.3}")
            return None
        values: dict[str, Any] = {}
        for name, raw in value.items():
            if name not in known:
                close = difflib.get_close_matches(str(name), known, n=1)
                self.fail(key, f"unknown setting 'related.{name}'", f"did you mean '{close[0]}'?" if close else "known: " + ", ".join(known))
            elif name == "weights":
                values[name] = self._related_weights(key, raw)
            elif name == "threshold":
                if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not 0 <= raw <= 1:
                    self.fail(key, "'related.threshold' must be a number from 0 to 1", "e.g. threshold: 0.3")
                else:
                    values[name] = float(raw)
            elif isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
                self.fail(key, f"'related.{name}' must be a whole number of at least 1")
            else:
                values[name] = raw
        return None if None in values.values() else RelatedConfig(**values)

    def _related_weights(self, key: str, value: Any) -> Mapping[str, float] | None:
        weights = dict(RelatedConfig().weights)
        if not isinstance(value, dict):
            self.fail(key, "'related.weights' must map components to numbers", "e.g. weights: {text: 3, tags: 1}")
            return None
        for name, weight in value.items():
            if name not in RELATED_COMPONENTS:
                close = difflib.get_close_matches(str(name), RELATED_COMPONENTS, n=1)
                hint = f"did you mean '{close[0]}'?" if close else "components: " + ", ".join(RELATED_COMPONENTS)
                self.fail(key, f"unknown related weight '{name}'", hint)
            elif isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
                self.fail(key, f"weight '{name}' must be a number of at least 0")
            else:
                weights[str(name)] = float(weight)
        if not any(weights.values()):
            self.fail(key, "at least one related weight must be above 0", "e.g. weights: {text: 1}")
        return MappingProxyType(weights)

    def _check_extra(self, key: str, value: Any) -> Mapping[str, Any] | None:
        if not isinstance(value, dict):
            self.fail(key, "'extra' must be a mapping")
            return None
        return MappingProxyType(value)

    def _check_feeds(self, key: str, value: Any) -> FeedsConfig | None:
        if value is False:
            return FeedsConfig(formats=())
        if not isinstance(value, dict):
            self.fail(key, "'feeds' must be a mapping, or false for no feeds", "e.g. feeds: {content: summary, limit: 10}")
            return None
        known = [f.name for f in dataclasses.fields(FeedsConfig)]
        values: dict[str, Any] = {}
        for name, raw in value.items():
            name = str(name)
            check = getattr(self, f"_feeds_{name}", None)
            if check is None:
                self.unknown(key, f"feeds.{name}", known)
                continue
            converted = check(key, f"feeds.{name}", raw)
            if converted is not None:
                values[name] = converted
        return FeedsConfig(**values)

    def _feeds_formats(self, key: str, name: str, value: Any) -> tuple[str, ...] | None:
        if value is None or value is False:
            return ()
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not all(isinstance(n, str) and n in FEED_FILES for n in names):
            self.fail(key, f"'{name}' must be a list of feed formats", "choose from: " + ", ".join(FEED_FILES))
            return None
        return tuple(dict.fromkeys(names))

    def _feeds_content(self, key: str, name: str, value: Any) -> str | None:
        if value not in ("full", "summary"):
            self.fail(key, f"'{name}' must be full or summary, not {value!r}", "full: the whole story; summary: its summary")
            return None
        return str(value)

    def _feeds_limit(self, key: str, name: str, value: Any) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.fail(key, f"'{name}' must be a whole number", "entries per feed, e.g. 20; 0 for every story")
            return None
        return value

    def _feeds_paths(self, key: str, name: str, value: Any) -> Mapping[str, str] | None:
        if not isinstance(value, dict) or not set(map(str, value)) <= set(FEED_FILES):
            self.fail(key, f"'{name}' maps formats to file names", "e.g. paths: {rss: rss.xml, atom: atom.xml, json: feed.json}")
            return None
        paths = dict(FEED_FILES)
        for fmt, file in value.items():
            file = str(file).strip()
            if not file or file.endswith("/") or not safe_site_path(file):
                self.fail(key, f"'{name}.{fmt}' must be a file name such as {FEED_FILES[str(fmt)]}", "no leading /, no ..")
                return None
            paths[str(fmt)] = file
        if len(set(paths.values())) < len(paths):
            self.fail(key, f"'{name}' gives two formats the same file", "give each format a file of its own")
            return None
        return MappingProxyType(paths)

    def _feeds_flag(self, key: str, name: str, value: Any) -> bool | None:
        if not isinstance(value, bool):
            self.fail(key, f"'{name}' must be true or false")
            return None
        return value

    _feeds_niches = _feeds_audiences = _feeds_tags = _feeds_flag

    def _feeds_id_host(self, key: str, name: str, value: Any) -> str | None:
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*", value):
            self.fail(key, f"'{name}' must be a host name", "e.g. example.org")
            return None
        return value.lower()
