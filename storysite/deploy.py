"""git lives here: publish the built site on a gh-pages branch without touching the work in progress."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .cache import CACHE_DIR
from .errors import StorysiteError

log = logging.getLogger(__name__)


class GitError(StorysiteError):
    """git is missing, or a git command failed."""


def git(repo: Path, *args: str, env: Mapping[str, str] | None = None, stdin: str | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one git command in `repo`; a failure becomes a GitError carrying git's own message."""
    command = ["git", *args]
    log.debug("$ %s", " ".join(command))
    try:
        result = subprocess.run(
            command, check=False, cwd=repo, env={**os.environ, **(env or {})}, input=stdin, capture_output=True, text=True
        )
    except FileNotFoundError:
        raise GitError("git is not installed (install git, then try again)") from None
    if check and result.returncode != 0:
        said = (result.stderr or result.stdout).strip()
        verb = next(arg for arg in args if not arg.startswith("-"))
        raise GitError(f"git {verb} failed: {said}")
    return result


def repository_root(folder: Path) -> Path | None:
    """The top folder of the git work tree `folder` is in, or None outside any."""
    if not folder.is_dir():
        return None
    result = git(folder, "rev-parse", "--show-toplevel", check=False)
    return Path(result.stdout.strip()).resolve() if result.returncode == 0 else None


def current_branch(repo: Path) -> str | None:
    """The branch checked out in `repo`, or None on a detached HEAD."""
    result = git(repo, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    return result.stdout.strip() or None if result.returncode == 0 else None


@dataclass(frozen=True)
class DeployOptions:
    """What `storysite deploy` is asked to do."""

    branch: str = "gh-pages"
    """The branch that holds the published site."""
    remote: str = "origin"
    """The remote to push it to."""
    message: str | None = None
    """First line of the commit message (the source commit is always added below it)."""
    dry_run: bool = False
    """Build and compare, but update no branch and push nothing."""
    build: bool = True
    """Build first (False publishes the output folder as it is)."""
    force: bool = False
    """Publish even when the site's files have changes that are not committed."""
    base_url: str | None = None
    """Build for this address instead of base_url, cname or the GitHub remote's Pages address."""


@dataclass(frozen=True)
class DeployResult:
    """What a deploy did, for the summary line."""

    branch: str
    remote: str
    base_url: str | None
    """The address the site was built for (None with --no-build: whatever the output folder holds)."""
    files: int
    commit: str
    """The branch's tip after the deploy (or what it would be after a dry run)."""
    previous: str | None
    """The tip the new commit was put on, if the branch existed."""
    committed: bool
    """False when the built site equals what the branch already holds."""
    pushed: bool
    """False when the remote had it already, or on a dry run."""


@dataclass(frozen=True)
class _Source:
    commit: str | None
    """HEAD of the repository, None before the first commit."""
    dirty: bool


def deploy_site(site_dir: Path, options: DeployOptions) -> DeployResult:
    """Build the site and commit the output onto `options.branch`, then push it; the work tree stays as it is."""
    from .build import build_site
    from .cache import open_cache
    from .config import load_config
    from .writer import MARKER

    repo = _require_repository(site_dir)
    url = _remote_url(repo, options.remote)
    _check_branch(repo, options.branch)
    config = load_config(site_dir, base_url=options.base_url)
    source = _source_state(repo, config.root, config.output_dir, options.force)
    if options.build and options.base_url is None and config.base_url == "/":
        address = pages_address(url, config.cname)
        if address:
            log.info("building for %s, the GitHub Pages address of %s (set base_url to choose)", address, options.remote)
            config = load_config(site_dir, base_url=address)
        else:
            log.warning("base_url is /: links work only when the site is served at the root of its domain")
    if options.build:
        with open_cache(config.root) as cache:
            build_site(config, cache=cache)
    elif not (config.output_dir / MARKER).is_file():
        raise StorysiteError(f"no built site in {config.output_dir} (run storysite build, or leave out --no-build)")
    tree, files = _tree_of(repo, config.output_dir)
    commit, parent, pushed = _publish(repo, options, tree, commit_message(options.message, source.commit, source.dirty))
    built_for = config.base_url if options.build else None
    return DeployResult(
        options.branch, options.remote, built_for, files, commit, parent, committed=commit != parent, pushed=pushed
    )


def _publish(repo: Path, options: DeployOptions, tree: str, message: str) -> tuple[str, str | None, bool]:
    """Commit `tree` onto the branch unless its tip holds it already, then push: (tip, previous tip, pushed)."""
    local = _ref(repo, f"refs/heads/{options.branch}")
    remote_tip = _remote_tip(repo, options.remote, options.branch)
    parent = _parent(repo, options, local, remote_tip)
    if parent is None or _git_out(repo, "rev-parse", f"{parent}^{{tree}}") != tree:
        commit = _git_out(repo, "commit-tree", tree, *(["-p", parent] if parent else []), stdin=message)
    else:
        commit = parent
    if options.dry_run:
        return commit, parent, False
    if local != commit:
        git(repo, "update-ref", "-m", "storysite deploy", f"refs/heads/{options.branch}", commit, local or "")
    if remote_tip != commit:
        git(repo, "push", "--quiet", options.remote, f"refs/heads/{options.branch}:refs/heads/{options.branch}")
    return commit, parent, remote_tip != commit


def commit_message(subject: str | None, source: str | None, dirty: bool) -> str:
    """The publication commit's message: a subject, then the source commit it was built from."""
    if source is None:
        origin = "files not yet committed"
    else:
        origin = f"commit {source}" + (" with changes not yet committed" if dirty else "")
    first = subject or (f"Publish the site built from {source[:12]}" if source else "Publish the site")
    return f"{first}\n\nBuilt by storysite {__version__} from {origin}.\n"


def pages_address(remote_url: str, cname: str = "") -> str | None:
    """Where GitHub Pages serves the site of a GitHub repository: the custom domain, else USER.github.io[/REPO]/."""
    if cname:
        return f"https://{cname}/"
    found = _GITHUB_REMOTE.match(remote_url.strip())
    if not found:
        return None
    user, name = found.group("user").lower(), found.group("repo")
    if name.lower() == f"{user}.github.io":
        return f"https://{user}.github.io/"
    return f"https://{user}.github.io/{name}/"


_GITHUB_REMOTE = re.compile(
    r"^(?:https?://(?:[^@/]+@)?github\.com/|ssh://git@github\.com(?::\d+)?/|git@github\.com:)"
    r"(?P<user>[A-Za-z0-9-]+)/(?P<repo>[A-Za-z0-9._-]+?)(?:\.git)?/?$"
)


def _require_repository(site_dir: Path) -> Path:
    repo = repository_root(site_dir.resolve())
    if repo is None:
        raise StorysiteError(
            f"{site_dir.resolve()} is not in a git repository (storysite deploy publishes through git:"
            " git init, commit the site, and add the GitHub repository as a remote)"
        )
    return repo


def _remote_url(repo: Path, remote: str) -> str:
    # The configured URL as written (get-url would expand insteadOf), to recognise a GitHub remote.
    url = git(repo, "config", "--get", f"remote.{remote}.url", check=False).stdout.strip()
    if not url:
        others = git(repo, "remote").stdout.split()
        hint = (f"remotes here: {', '.join(others)}; choose one with --remote" if others
                else "add one: git remote add origin https://github.com/USER/REPO.git")
        raise StorysiteError(f"the repository has no remote named '{remote}' ({hint})")
    return url


def _check_branch(repo: Path, branch: str) -> None:
    if git(repo, "check-ref-format", "--branch", branch, check=False).returncode != 0:
        raise StorysiteError(f"'{branch}' is not a valid branch name (e.g. gh-pages)")
    if current_branch(repo) == branch:
        raise StorysiteError(
            f"the current branch is {branch}, where the built site goes (check out the branch of the site's sources)"
        )


def _source_state(repo: Path, site_root: Path, out_dir: Path, force: bool) -> _Source:
    """The commit the site is built from; refuse changes not committed in the site's files unless `force`."""
    commit = _ref(repo, "HEAD")
    # What a build writes is no change to the site: the output folder and the build cache.
    byproducts = [folder for folder in (out_dir, site_root / CACHE_DIR) if folder.is_relative_to(repo)]
    pathspecs = [_pathspec(site_root, repo), *(f":(exclude){_pathspec(folder, repo)}" for folder in byproducts)]
    # --no-optional-locks: status must not refresh (rewrite) the real index.
    changes = git(repo, "--no-optional-locks", "status", "--porcelain", "--untracked-files=all", "--", *pathspecs).stdout.splitlines()
    if (changes or commit is None) and not force:
        if commit is None:
            raise StorysiteError("the repository has no commit yet (commit the site first, or use --force)")
        shown = ", ".join(line[3:] for line in changes[:3]) + (", ..." if len(changes) > 3 else "")
        raise StorysiteError(
            f"the site has changes that are not committed: {shown}"
            " (commit them so the published site matches a commit, or use --force)"
        )
    return _Source(commit, bool(changes))


def _tree_of(repo: Path, folder: Path) -> tuple[str, int]:
    """A git tree of every file in `folder`, made in a temporary index: the real index is never touched."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink())
    problems = [p for p in files if p.is_symlink() or "\n" in str(p)]
    if problems:
        raise StorysiteError(f"{problems[0]} cannot be published (a link, or a line break in its name)")
    with tempfile.TemporaryDirectory(prefix="storysite-deploy-") as scratch:
        env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        blobs = git(repo, "hash-object", "-w", "--no-filters", "--stdin-paths",
                    stdin="".join(f"{p}\n" for p in files)).stdout.split()
        entries = "".join(
            f"{'100755' if os.access(p, os.X_OK) else '100644'} {blob}\t{p.relative_to(folder).as_posix()}\0"
            for p, blob in zip(files, blobs, strict=True)
        )
        git(repo, "update-index", "--add", "-z", "--index-info", env=env, stdin=entries)
        return _git_out(repo, "write-tree", env=env), len(files)


def _parent(repo: Path, options: DeployOptions, local: str | None, remote_tip: str | None) -> str | None:
    """The tip to build on: the local branch or the remote's, whichever has the other in its history."""
    if remote_tip and not _has_commit(repo, remote_tip):
        git(repo, "fetch", "--quiet", "--no-tags", options.remote, f"refs/heads/{options.branch}")
    if local is None or remote_tip is None or local == remote_tip:
        return local or remote_tip
    if _is_ancestor(repo, local, remote_tip):
        return remote_tip
    if _is_ancestor(repo, remote_tip, local):
        return local
    raise StorysiteError(
        f"the local {options.branch} and the one on {options.remote} have diverged (to publish on top of"
        f" {options.remote}'s, delete the local one: git branch -D {options.branch})"
    )


def _remote_tip(repo: Path, remote: str, branch: str) -> str | None:
    listed = git(repo, "ls-remote", "--heads", remote, f"refs/heads/{branch}").stdout.split()
    return listed[0] if listed else None


def _ref(repo: Path, name: str) -> str | None:
    result = git(repo, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}", check=False)
    return result.stdout.strip() or None if result.returncode == 0 else None


def _has_commit(repo: Path, sha: str) -> bool:
    return git(repo, "cat-file", "-e", f"{sha}^{{commit}}", check=False).returncode == 0


def _is_ancestor(repo: Path, older: str, newer: str) -> bool:
    return git(repo, "merge-base", "--is-ancestor", older, newer, check=False).returncode == 0


def _git_out(repo: Path, *args: str, env: Mapping[str, str] | None = None, stdin: str | None = None) -> str:
    return git(repo, *args, env=env, stdin=stdin).stdout.strip()


def _pathspec(path: Path, repo: Path) -> str:
    return Path(os.path.relpath(path, repo)).as_posix()
