"""How long `storysite deploy` takes on a large site, and how much of it is git rather than the build.

    python benchmarks/deploy.py [--stories N] [--repeat R]

Makes a synthetic site (benchmarks/corpus.py) in a temporary git repository with a local bare
remote, then times, through the command line as a host runs it: a build; a first deploy of that
build (--no-build: the git part alone: hash every file, write the tree, commit, push); a deploy with
nothing changed; one story edited, built and deployed; and a whole `storysite deploy` (cached build
plus git). Prints the best of R runs of each step that can be repeated.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.corpus import write_site

STORYSITE = [sys.executable, "-m", "storysite"]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.org",
    "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.org",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}


def run(args: list[str], cwd: Path) -> float:
    """Run a command; its wall-clock seconds."""
    started = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True, capture_output=True, env={**os.environ, **GIT_ENV})
    return time.perf_counter() - started


def best(args: list[str], cwd: Path, repeat: int) -> float:
    return min(run(args, cwd) for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="storysite-bench-") as scratch:
        site = Path(scratch) / "site"
        write_site(site, options.stories, seed=1)
        (site / ".gitignore").write_text("_site/\n_site.*/\n.storysite-cache/\n", encoding="utf-8")
        for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "site"]):
            run(["git", *command], site)
        run(["git", "init", "-q", "--bare", str(Path(scratch) / "remote.git")], site)
        run(["git", "remote", "add", "origin", str(Path(scratch) / "remote.git")], site)

        figures = {"build (cold, no cache)": run([*STORYSITE, "build", "-q", "--no-cache"], site)}
        figures["deploy --no-build, first"] = run([*STORYSITE, "deploy", "--no-build"], site)
        files = sum(1 for p in (site / "_site").rglob("*") if p.is_file())
        figures["deploy --no-build, nothing changed"] = best([*STORYSITE, "deploy", "--no-build"], site, options.repeat)
        story = min((site / "content" / "stories").glob("*.md"))
        story.write_text(story.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
        run(["git", "commit", "-q", "-am", "edit one story"], site)
        run([*STORYSITE, "build", "-q"], site)
        figures["deploy --no-build, one story changed"] = run([*STORYSITE, "deploy", "--no-build"], site)
        figures["build (cached)"] = best([*STORYSITE, "build", "-q"], site, options.repeat)
        figures["deploy (cached build + git), nothing changed"] = best([*STORYSITE, "deploy"], site, options.repeat)

    print(f"{options.stories} stories, {files} output files, {os.cpu_count()} cores")
    for name, seconds in figures.items():
        print(f"  {name:<48}{seconds:7.2f} s")


if __name__ == "__main__":
    main()
