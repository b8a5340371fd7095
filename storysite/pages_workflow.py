"""The GitHub Actions workflow that builds the site and publishes it on GitHub Pages on every push."""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .config import Config
from .deploy import current_branch, repository_root
from .errors import StorysiteError

TEMPLATE = Path(__file__).parent / "workflows" / "pages.yml"
WORKFLOW_PATH = Path(".github") / "workflows" / "pages.yml"
DEFAULT_BRANCH = "main"
_PLACEHOLDER = re.compile(r"@@([A-Z_]+)@@")
# pyproject.toml of storysite itself: a site kept in storysite's own repository installs that checkout.
_STORYSITE_PROJECT = re.compile(r'^name\s*=\s*["\']storysite["\']', re.MULTILINE)


@dataclass(frozen=True)
class Workflow:
    """The workflow file for one site: where it goes and what it says."""

    path: Path
    """Absolute path of .github/workflows/pages.yml at the top of the repository."""
    text: str
    branch: str
    """The branch whose pushes publish the site."""
    install: str
    """What the workflow gives pip to install storysite."""


def plan_workflow(config: Config, branch: str | None = None, install: str | None = None,
                  repository: Path | None = None) -> Workflow:
    """The workflow for a site, at the top of `repository`: by default the git repository the site is in,
    or the site folder outside one."""
    repo = repository or repository_root(config.root) or config.root
    in_git = repository_root(repo) == repo.resolve()
    branch = branch or (current_branch(repo) if in_git else None) or DEFAULT_BRANCH
    if not config.output_dir.is_relative_to(repo):
        raise StorysiteError(
            f"the output folder {config.output_dir} is outside the repository {repo}"
            " (GitHub Pages publishes from inside it: set output_dir to a folder of the site, e.g. _site)"
        )
    install = install or _default_install(config.root, repo)
    values = {
        "VERSION": __version__,
        "BRANCH": json.dumps(branch),
        "SITE_DIR": json.dumps(_relative(config.root, repo)),
        "INSTALL": json.dumps(f"python -m pip install {shlex.quote(install)}"),
        "OUTPUT_DIR": json.dumps(_relative(config.output_dir, repo)),
    }
    text = _PLACEHOLDER.sub(lambda m: values[m.group(1)], TEMPLATE.read_text(encoding="utf-8"))
    return Workflow(repo / WORKFLOW_PATH, text, branch, install)


def write_workflow(workflow: Workflow, force: bool = False) -> bool:
    """Write the workflow file; refuse to replace a different one unless `force`. True when written."""
    path = workflow.path
    if path.is_file() and path.read_text(encoding="utf-8") == workflow.text:
        return False
    if path.exists() and not force:
        raise StorysiteError(f"{path} already exists (use --force to replace it with storysite's workflow)")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(path.name + ".tmp")
    staging.write_text(workflow.text, encoding="utf-8")
    os.replace(staging, path)
    return True


def _default_install(site: Path, repo: Path) -> str:
    """storysite's own checkout when the site lives in it, else this very version from PyPI."""
    pyproject = repo / "pyproject.toml"
    if pyproject.is_file() and _STORYSITE_PROJECT.search(pyproject.read_text(encoding="utf-8")):
        return _relative(repo, site)
    return f"storysite=={__version__}"


def _relative(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path, start)).as_posix()
