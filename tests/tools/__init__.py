"""The outside tools the reader's checks use: the system Chromium, axe-core and the Nu HTML Checker.

package.json beside this file pins the npm packages (`npm ci --ignore-scripts` here installs them);
Chromium and Java come from the system. A missing tool skips its tests with the reason, unless
STORYSITE_REQUIRE_BROWSER=1 (CI sets it), which makes it a failure: CI must never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parent
NODE_MODULES = TOOLS / "node_modules"
AXE_SCRIPT = NODE_MODULES / "axe-core" / "axe.min.js"
VNU_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
REQUIRE_VARIABLE = "STORYSITE_REQUIRE_BROWSER"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Headless, and quiet on the network: no updates, sync or QUIC probes to other hosts while testing.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
NPM_HINT = "run `npm ci --ignore-scripts` in tests/tools/"


def need(found: object, what: str, hint: str) -> None:
    """Skip the test when a tool is missing (fail instead when CI requires the tools)."""
    if found:
        return
    message = f"{what} not found ({hint})"
    if os.environ.get(REQUIRE_VARIABLE) == "1":
        pytest.fail(f"{message}; {REQUIRE_VARIABLE}=1 requires it", pytrace=False)
    pytest.skip(message)


def chromium() -> str:
    """The system Chromium's executable: CHROMIUM_PATH, else the first browser on PATH."""
    explicit = os.environ.get("CHROMIUM_PATH")
    found = explicit if explicit and os.access(explicit, os.X_OK) else next(
        (path for path in map(shutil.which, CHROMIUM_NAMES) if path), None
    )
    need(found, "chromium", "apt-get install chromium, or set CHROMIUM_PATH")
    return str(found)


def axe_script() -> str:
    """The text of axe.min.js, to inject into a page."""
    need(AXE_SCRIPT.is_file(), "axe-core", NPM_HINT)
    return AXE_SCRIPT.read_text(encoding="utf-8")


def vnu_command() -> list[str]:
    """The Nu HTML Checker run by the system java."""
    java = shutil.which("java")
    need(java, "java", "apt-get install default-jre-headless")
    need(VNU_JAR.is_file(), "vnu.jar", NPM_HINT)
    return [str(java), "-jar", str(VNU_JAR)]
