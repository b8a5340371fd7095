"""The command line: parse options, load config, call one library function, show the outcome."""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import __version__

if TYPE_CHECKING:
    from .stages import StageTime

SITE_OPTION = click.option(
    "-s", "--site", "site_dir", type=click.Path(file_okay=False, path_type=Path), default=".",
    show_default=True, help="The site folder (where storysite.yaml is).",
)
DEBUG_OPTION = click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        prefix = {logging.WARNING: "warning: ", logging.ERROR: "error: "}.get(record.levelno, "")
        return prefix + record.getMessage()


def _setup_logging(debug: bool, quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    root = logging.getLogger("storysite")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO)
    root.propagate = False


def _run(debug: bool, action: Callable[[], Any], quiet: bool = False) -> Any:
    """Run a command's work; turn user mistakes into a message and exit code 1, without a traceback."""
    from .errors import StorysiteError

    _setup_logging(debug, quiet)
    try:
        return action()
    except StorysiteError as exc:
        if debug:
            traceback.print_exc()
        click.echo(click.style("error: ", fg="red", bold=True) + str(exc).replace("\n", "\nerror: "), err=True)
        sys.exit(1)
    except OSError as exc:
        if debug:
            traceback.print_exc()
        click.echo(click.style("error: ", fg="red", bold=True) + f"{exc.strerror or exc}: {exc.filename or ''}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted; the previous site is unchanged", err=True)
        sys.exit(130)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="storysite")
def main() -> None:
    """storysite: build a brand storytelling blog from Markdown stories."""


_COMMAND = object()
"""The context object of the installed `storysite` command, which ends its process after a build."""


def command() -> None:
    """The installed `storysite` command (`main` is the same, for callers that go on running)."""
    main(obj=_COMMAND)


def _end_now() -> None:
    """End the process at once, exit status 0: freeing the objects a large build leaves (its site model is
    held in reference cycles) one by one would take a good part of a second, for nothing."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@main.command()
@SITE_OPTION
@click.option("--base-url", help="Where the site will be published, e.g. https://user.github.io/repo/.")
@click.option("-o", "--out", type=click.Path(path_type=Path), help="Output folder (default: _site).")
@click.option("--drafts", is_flag=True, default=None, help="Include stories marked draft: true.")
@click.option("--future", is_flag=True, default=None, help="Include stories dated in the future.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but warnings and errors.")
@click.option("--timings", is_flag=True, help="Print a table of the time each build stage took (on stderr).")
@click.option("--no-cache", is_flag=True, help="Neither use nor update the build cache (.storysite-cache/).")
@click.option("-j", "--jobs", type=click.IntRange(min=0),
              help="Processes for parsing a large site (default: one per core; 1: parse in this process).")
@DEBUG_OPTION
def build(site_dir: Path, base_url: str | None, out: Path | None, drafts: bool | None, future: bool | None,
          quiet: bool, timings: bool, no_cache: bool, jobs: int | None, debug: bool) -> None:
    """Build the site into _site/ (or --out)."""

    def action() -> None:
        from .build import build_site
        from .cache import open_cache
        from .config import load_config
        from .stages import Stages

        stages = Stages(None if quiet else _progress_line())
        with stages.stage("config"):
            config = load_config(
                site_dir, base_url=base_url, output_dir=out.resolve() if out else None, drafts=drafts, future=future,
                jobs=jobs,
            )
        with open_cache(config.root, enabled=not no_cache) as cache:
            result = build_site(config, stages, cache)
        if not quiet:
            shown = _shown(config.output_dir)
            click.echo(
                f"Built {_count(result.stories, 'story', 'stories')} and {_count(result.pages, 'page', 'pages')}"
                f" into {shown}/ ({result.files} files, {len(result.written)} written) in {result.seconds:.2f} s"
                + (f", {_count(len(result.warnings), 'warning', 'warnings')}" if result.warnings else "")
            )
        if timings:
            click.echo(_timings_table(result.stages), err=True)
        if click.get_current_context().obj is _COMMAND:
            _end_now()

    _run(debug, action, quiet)


@main.command()
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines instead of a table.")
@SITE_OPTION
@DEBUG_OPTION
def related(slug: str, as_json: bool, site_dir: Path, debug: bool) -> None:
    """Show the stories related to SLUG, each score broken down by component."""

    def action() -> None:
        import json

        from .cache import open_cache
        from .config import load_config
        from .explain import explain_related, explained_json, explained_text

        config = load_config(site_dir)
        with open_cache(config.root) as cache:
            explained = explain_related(config, slug, cache)
        for warning in explained.warnings:
            click.echo(f"warning: {warning}", err=True)
        click.echo(json.dumps(explained_json(explained), indent=2, ensure_ascii=False) if as_json else explained_text(explained))

    _run(debug, action)


@main.command()
@SITE_OPTION
@click.option("-p", "--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="The port to serve on.")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to serve on (others can reach anything but 127.0.0.1).")
@click.option("--drafts", is_flag=True, help="Include stories marked draft: true.")
@click.option("--future", is_flag=True, help="Include stories dated in the future.")
@click.option("--open", "open_browser", is_flag=True, help="Open the preview in a web browser.")
@DEBUG_OPTION
def serve(site_dir: Path, port: int, host: str, drafts: bool, future: bool, open_browser: bool, debug: bool) -> None:
    """Preview the site; rebuild and reload open pages on every save."""

    def action() -> None:
        from .serve import ServeOptions, serve_site

        serve_site(site_dir, ServeOptions(host, port, drafts, future, open_browser))

    _run(debug, action)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--github-pages", is_flag=True, help="Also write a GitHub Actions workflow that publishes it on GitHub Pages.")
@DEBUG_OPTION
def init(directory: Path, github_pages: bool, debug: bool) -> None:
    """Create a new site with sample stories in DIRECTORY (default: here)."""

    def action() -> None:
        from .scaffold import init_site

        init_site(directory)
        click.echo(f"Created a new site in {directory}/. Next: cd {directory} && storysite build")
        if github_pages:
            # A new site becomes a repository of its own: never write into one it happens to sit in.
            _write_workflow(directory, None, None, force=False, repository=directory.resolve())

    _run(debug, action)


@main.command()
@click.argument("title")
@click.option("--niche", required=True, help="The one niche the story serves (a slug).")
@click.option("--audience", "audiences", multiple=True, required=True, help="An audience it speaks to; repeat for more.")
@click.option("--tag", "tags", multiple=True, help="A tag; repeat for more.")
@click.option("--slug", help="The story's slug (default: from the title).")
@click.option("--lang", help="The story's language, when not the site's.")
@click.option("--draft", is_flag=True, help="Mark it draft: true.")
@SITE_OPTION
@DEBUG_OPTION
def new(title: str, niche: str, audiences: tuple[str, ...], tags: tuple[str, ...], slug: str | None,
        lang: str | None, draft: bool, site_dir: Path, debug: bool) -> None:
    """Write a new story with its front-matter; never overwrites one."""

    def action() -> None:
        from .config import load_config
        from .scaffold import NewStory, new_story

        config = load_config(site_dir)
        path, warnings = new_story(config, NewStory(title, niche, audiences, tags, slug, lang, draft))
        for warning in warnings:
            click.echo(f"warning: {warning}", err=True)
        click.echo(f"Created {_shown(path)}")

    _run(debug, action)


class _ProgressLine:
    """One line on the terminal that shows the stage and how far it got, once a build takes a while."""

    DELAY = 0.5
    """Seconds before anything shows: a quick build prints no progress at all."""
    EVERY = 0.1

    def __init__(self) -> None:
        self.began = time.monotonic()
        self.shown_at = 0.0
        self.stage, self.total, self.done = "", 0, 0
        self.showing = False

    def start(self, stage: str, total: int) -> None:
        self.stage, self.total, self.done = stage, total, 0
        self._show()

    def advance(self, count: int) -> None:
        self.done += count
        self._show()

    def finish(self) -> None:
        if self.showing:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()
            self.showing = False

    def _show(self) -> None:
        now = time.monotonic()
        if now - self.began < self.DELAY or now - self.shown_at < self.EVERY:
            return
        self.shown_at = now
        if self.total:
            filled = min(20, 20 * self.done // self.total)
            count = f"[{'#' * filled}{'-' * (20 - filled)}] {self.done}/{self.total}"
        else:
            count = str(self.done) if self.done else ""
        sys.stderr.write(f"\r\x1b[2K{self.stage:<9} {count}")
        sys.stderr.flush()
        self.showing = True


def _progress_line() -> _ProgressLine | None:
    """Progress only for a person at a terminal: not in CI logs, not into a pipe or a file."""
    if os.environ.get("CI") or not sys.stderr.isatty() or os.environ.get("TERM") == "dumb":
        return None
    return _ProgressLine()


def _timings_table(stages: Sequence[StageTime]) -> str:
    """Where the build's time went, stage by stage."""
    total = sum(stage.seconds for stage in stages) or 1.0
    rows = [f"{'stage':<10}{'wall s':>8}{'cpu s':>8}{'share':>7}{'items':>8}"]
    for stage in stages:
        items = str(stage.items) if stage.items else ""
        rows.append(f"{stage.name:<10}{stage.seconds:>8.2f}{stage.cpu_seconds:>8.2f}{stage.seconds / total:>7.0%}{items:>8}")
    rows.append(f"{'total':<10}{sum(s.seconds for s in stages):>8.2f}{sum(s.cpu_seconds for s in stages):>8.2f}")
    return "\n".join(rows)


@main.command("gh-workflow")
@SITE_OPTION
@click.option("--branch", help="The branch whose pushes publish the site (default: the current one, else main).")
@click.option("--install", "install", metavar="SPEC",
              help="What pip installs as storysite (default: this version, storysite==VERSION).")
@click.option("--force", is_flag=True, help="Replace an existing .github/workflows/pages.yml.")
@DEBUG_OPTION
def gh_workflow(site_dir: Path, branch: str | None, install: str | None, force: bool, debug: bool) -> None:
    """Write .github/workflows/pages.yml: every push builds the site and publishes it on GitHub Pages."""
    _run(debug, lambda: _write_workflow(site_dir, branch, install, force))


def _write_workflow(site_dir: Path, branch: str | None, install: str | None, force: bool,
                    repository: Path | None = None) -> None:
    from .config import load_config
    from .pages_workflow import plan_workflow, write_workflow

    workflow = plan_workflow(load_config(site_dir), branch, install, repository)
    written = write_workflow(workflow, force)
    click.echo(
        f"{'Wrote' if written else 'Unchanged:'} {_shown(workflow.path)}: every push to {workflow.branch}"
        f" installs {workflow.install}, builds the site and publishes it on GitHub Pages."
    )
    click.echo("Once, in the repository's Settings > Pages, set Source to \"GitHub Actions\".")


@main.command()
@SITE_OPTION
@click.option("--branch", default="gh-pages", show_default=True, help="The branch that holds the published site.")
@click.option("--remote", default="origin", show_default=True, help="The git remote to push it to.")
@click.option("-m", "--message", help="The commit message's first line (the source commit is always named below).")
@click.option("--base-url", help="Build for this address (default: base_url, else cname, else the GitHub remote's Pages address).")
@click.option("--dry-run", is_flag=True, help="Build and compare, but commit and push nothing.")
@click.option("--no-build", "no_build", is_flag=True, help="Publish the output folder as it is, without building.")
@click.option("--force", is_flag=True, help="Publish even with changes to the site that are not committed.")
@DEBUG_OPTION
def deploy(site_dir: Path, branch: str, remote: str, message: str | None, base_url: str | None, dry_run: bool,
           no_build: bool, force: bool, debug: bool) -> None:
    """Build the site and push it to the gh-pages branch; the working tree, index and branch stay as they are."""

    def action() -> None:
        from .deploy import DeployOptions, deploy_site

        options = DeployOptions(branch, remote, message, dry_run, not no_build, force, base_url)
        result = deploy_site(site_dir, options)
        tip = f"{result.branch} at {result.commit[:12]}"
        if not result.committed:
            what = f"Nothing changed since the last publication ({tip})"
        else:
            built_for = f" built for {result.base_url}" if result.base_url else ""
            what = f"{'Would commit' if dry_run else 'Committed'} {_count(result.files, 'file', 'files')}{built_for} ({tip})"
        if dry_run:
            click.echo(f"{what}; dry run: no branch updated, nothing pushed.")
        else:
            click.echo(what + (f"; pushed to {result.remote}." if result.pushed else f"; {result.remote} has it already."))

    _run(debug, action)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
