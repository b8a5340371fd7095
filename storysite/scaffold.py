"""New sites and new stories: the files a writer starts from."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .config import CONFIG_FILE, SLUG_RE, Config, TermInfo
from .dates import build_time, find_timezone
from .errors import ContentError, Problem, StorysiteError
from .urls import slugify
from .yamlload import dump_yaml

PACKAGE_STARTER = Path(__file__).parent / "starter"
# In a source checkout the starter is the repository's own demo site.
SOURCE_STARTER = Path(__file__).parent.parent


def starter_folder() -> Path:
    """Where the sample site lives: inside the installed package, or the source checkout."""
    for folder in (PACKAGE_STARTER, SOURCE_STARTER):
        if (folder / CONFIG_FILE).is_file() and (folder / "content" / "stories").is_dir():
            return folder
    raise StorysiteError("the sample site is missing from this installation; reinstall storysite")


def init_site(target: Path) -> list[Path]:
    """Create a new site in `target` from the sample site; refuse to overwrite an existing one."""
    starter = starter_folder()
    clashes = [target / name for name in (CONFIG_FILE, "content") if (target / name).exists()]
    if clashes:
        raise StorysiteError(f"{clashes[0]} already exists: storysite init makes a new site in an empty folder")
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(starter / CONFIG_FILE, target / CONFIG_FILE)
    shutil.copytree(starter / "content", target / "content")
    if not (target / ".gitignore").exists():
        (target / ".gitignore").write_text("_site/\n_site.*/\n.storysite-cache/\n", encoding="utf-8")
    return [target / CONFIG_FILE, target / "content"]


@dataclass(frozen=True)
class NewStory:
    """What `storysite new` is asked to write."""

    title: str
    niche: str
    audiences: tuple[str, ...]
    tags: tuple[str, ...] = ()
    slug: str | None = None
    lang: str | None = None
    draft: bool = False


def new_story(config: Config, request: NewStory) -> tuple[Path, list[str]]:
    """Write content/stories/<slug>.md with its front-matter; return the path and any warnings."""
    slug = request.slug or slugify(request.title)
    if not slug or not SLUG_RE.match(slug):
        raise ContentError(Problem("--slug", None, f"'{slug}' cannot be used in a URL", "use lowercase words joined by hyphens"))
    for kind, names in (("niche", [request.niche]), ("audience", list(request.audiences))):
        for name in names:
            if not SLUG_RE.match(name):
                raise ContentError(Problem(f"--{kind}", None, f"'{name}' is not a slug", f"write it as {slugify(name)}"))
    folder = config.content_dir / "stories"
    path = folder / f"{slug}.md"
    if path.exists() or (folder / slug / "index.md").exists():
        raise StorysiteError(f"{path.relative_to(config.root)} already exists: choose another title or --slug")
    tz = find_timezone(config.timezone) or dt.timezone.utc
    meta: dict[str, object] = {
        "title": request.title,
        "date": build_time().astimezone(tz).date(),
        "niche": request.niche,
        "audience": list(request.audiences),
    }
    if request.tags:
        meta["tags"] = list(request.tags)
    if request.lang:
        meta["lang"] = request.lang
    if request.draft:
        meta["draft"] = True
    meta["summary"] = ""
    body = "Start with the moment that changed something for the people in this story.\n"
    folder.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as handle:
        handle.write(f"---\n{dump_yaml(meta)}---\n\n{body}")
    warnings: list[str] = []
    checks: list[tuple[str, Mapping[str, TermInfo], tuple[str, ...]]] = [
        ("niche", config.niches, (request.niche,)),
        ("audience", config.audiences, request.audiences),
    ]
    for kind, declared, wanted in checks:
        warnings += [f"{kind} '{n}' is not declared in {CONFIG_FILE}" for n in wanted if declared and n not in declared]
    return path, warnings
