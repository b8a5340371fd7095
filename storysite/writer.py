"""The only module that touches the output folder: build in a staging folder, then swap it in."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from .errors import ContentError, Problem, StorysiteError, shown_path
from .model import Asset
from .render import Output
from .sources import files_under
from .urls import safe_site_path

log = logging.getLogger(__name__)

# Every build writes it (GitHub Pages needs it), so its presence tells a folder a build made.
MARKER = ".nojekyll"


def static_outputs(folders: Iterable[Path]) -> list[Output]:
    """Files of theme static folders, in order; a later folder overrides an earlier one's file."""
    found: dict[str, Output] = {}
    for folder in folders:
        for path in files_under(folder):
            rel = path.relative_to(folder).as_posix()
            found[rel] = Output(rel, None, path, f"theme file {path}")
    return list(found.values())


def asset_outputs(assets: Iterable[Asset], root: Path) -> list[Output]:
    """Files copied as they are from content/."""
    return [Output(a.path, None, a.source, shown_path(a.source, root)) for a in assets]


def plan_outputs(theme_files: list[Output], claimed: list[Output]) -> dict[str, Output]:
    """One output per path: site files override theme files; any other clash is an error naming both."""
    plan = {o.path: o for o in theme_files}
    owners: dict[str, Output] = {}
    problems = []
    for output in claimed:
        if not safe_site_path(output.path) or not output.path:
            problems.append(Problem(output.origin, None, f"'{output.path}' would be written outside the output folder"))
        elif output.path in owners:
            other = owners[output.path]
            problems.append(
                Problem(output.origin, None, f"writes {output.path}, which {other.origin} writes too", "change a slug or a file name")
            )
        else:
            owners[output.path] = plan[output.path] = output
    if problems:
        raise ContentError(problems)
    return dict(sorted(plan.items()))


def write_site(plan: dict[str, Output], out_dir: Path) -> None:
    """Write every output into a staging folder beside `out_dir`, then swap it in whole."""
    _refuse_foreign_folder(out_dir)
    staging = out_dir.with_name(out_dir.name + ".staging")
    retired = out_dir.with_name(out_dir.name + ".old")
    for leftover in (staging, retired):
        _remove(leftover)
    staging.mkdir(parents=True)
    try:
        for path, output in plan.items():
            target = staging / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if output.data is not None:
                target.write_bytes(output.data)
            else:
                assert output.source is not None
                shutil.copyfile(output.source, target)
    except BaseException:
        _remove(staging)
        raise
    if out_dir.is_symlink() or out_dir.is_file():
        out_dir.unlink()
    if out_dir.exists():
        os.replace(out_dir, retired)
    os.replace(staging, out_dir)
    _remove(retired)
    log.debug("wrote %d files to %s", len(plan), out_dir)


def _refuse_foreign_folder(out_dir: Path) -> None:
    """The swap replaces the output folder whole: never do that to a folder a build did not make."""
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MARKER).is_file():
        raise StorysiteError(
            f"{out_dir} holds files that storysite did not build; it would replace them all"
            " (choose an empty or new folder for the output)"
        )


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
