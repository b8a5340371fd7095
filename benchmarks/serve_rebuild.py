"""How long `storysite serve` takes from saving one story to sending the reload, beside a cold build.

    python benchmarks/serve_rebuild.py [--stories 1000 10000] [--saves 5] [--seed 0]

For each size: a synthetic site (benchmarks/corpus.py); a cold build (no build cache) into a
folder of its own; then the preview server, started in this process on a free port, which builds
once (filling the cache); then `--saves` times: one story's body is changed on disk and the time
until the reload event arrives on the Server-Sent Events stream is taken, as a browser tab would
see it (the watcher's wait for the burst of saves to settle is included). Printed: the cold build,
the median, fastest and slowest save-to-reload, the median as a share of the cold build, the
target, and the stage times of the last rebuild (where a rebuild spends its time).
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.corpus import write_site
from storysite.build import build_site
from storysite.cache import BuildCache
from storysite.config import load_config
from storysite.parsed_files import MARGIN_NS
from storysite.serve import EVENTS_PATH, PreviewServer, ServeOptions, serve_site

TARGETS = {1000: 0.3, 10000: 1.5}


def cold_build(root: Path) -> float:
    """A full build without the cache, into a folder of its own."""
    config = load_config(root, output_dir=root / "_cold")
    started = time.perf_counter()
    build_site(config, cache=BuildCache(None))
    return time.perf_counter() - started


class ReloadListener:
    """Reads the reload stream in a thread and notes when each state event arrives."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.conn.request("GET", EVENTS_PATH)
        self.response = self.conn.getresponse()
        self.arrivals: list[float] = []
        self.arrived = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for raw in self.response.fp:
            if raw.startswith(b"event: state"):
                with self.arrived:
                    self.arrivals.append(time.perf_counter())
                    self.arrived.notify_all()

    def wait_for(self, count: int) -> float:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.arrivals) >= count, timeout=600):
                raise SystemExit("no reload event arrived within 10 minutes")
            return self.arrivals[count - 1]


def measure_saves(root: Path, saves: int) -> tuple[list[float], PreviewServer]:
    """Start the preview, then time save -> reload event `saves` times."""
    ready = threading.Event()
    servers: list[PreviewServer] = []

    def on_ready(server: PreviewServer) -> None:
        servers.append(server)
        ready.set()

    threading.Thread(target=serve_site, args=(root, ServeOptions(port=0), on_ready), daemon=True).start()
    if not ready.wait(1800):
        raise SystemExit("the preview server did not start")
    server = servers[0]
    listener = ReloadListener(int(server.server_address[1]))
    listener.wait_for(1)  # the state on connecting
    stories = sorted((root / "content" / "stories").glob("*.md"))
    latencies = []
    for number in range(saves):
        path = stories[(number * 7919) % len(stories)]
        text = path.read_text(encoding="utf-8")
        time.sleep(0.5)  # let the previous burst settle completely
        saved = time.perf_counter()
        path.write_text(text + f"\nOne more sentence, number {number}.\n", encoding="utf-8")
        latencies.append(listener.wait_for(number + 2) - saved)
    return latencies, server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--saves", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print("| stories | cold build | save -> reload (median) | fastest | slowest | median / cold | target |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    stage_tables = []
    for n in args.stories:
        with tempfile.TemporaryDirectory(prefix="storysite-serve-bench-") as folder:
            root = Path(folder)
            write_site(root, n, args.seed)
            # Content is written well before a preview in real life; a file saved within storysite's
            # margin is also compared by its bytes on every rebuild, which is not what is timed here.
            time.sleep(MARGIN_NS / 1e9)
            cold = cold_build(root)
            latencies, server = measure_saves(root, args.saves)
            median = statistics.median(latencies)
            target = TARGETS.get(n)
            verdict = "" if target is None else f"{target:.1f} s ({'met' if median <= target else 'missed'})"
            print(
                f"| {n} | {cold:.2f} s | {median:.3f} s | {min(latencies):.3f} s | {max(latencies):.3f} s"
                f" | {median / cold:.3f} | {verdict} |",
                flush=True,
            )
            last = server.live.last_build
            if last is not None:
                stage_tables.append(f"{n} stories, last rebuild: " + ", ".join(f"{t.name} {t.seconds:.3f} s" for t in last.stages))
            server.shutdown()
            server.live.close()
    print()
    for line in stage_tables:
        print(line)


if __name__ == "__main__":
    main()
