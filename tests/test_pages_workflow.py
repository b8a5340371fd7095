"""The GitHub Pages workflow that `storysite init --github-pages` and `storysite gh-workflow` write."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import lxml.html
import yaml
from click.testing import CliRunner

from storysite import __version__
from storysite.cli import main
from storysite.config import load_config
from storysite.pages_workflow import plan_workflow

from .conftest import REPO, story

WORKFLOW = Path(".github/workflows/pages.yml")
# What actions/configure-pages gives as base_url for a project site: no trailing slash.
PAGES_BASE_URL = "https://example.github.io/repo"


def cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def actionlint_binary() -> str:
    """The actionlint the test extras install next to this Python, else one on PATH."""
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(folder) / "actionlint"
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("actionlint")
    assert found, "actionlint is not installed: pip install -e '.[test]' brings it"
    return found


def actionlint(path: Path) -> None:
    result = subprocess.run([actionlint_binary(), "-no-color", str(path)], check=False, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def load(path: Path) -> dict[Any, Any]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["on"] = doc.pop(True, doc.get("on"))  # YAML 1.1 reads the key `on` as true
    return doc


def steps_using(job: dict[str, Any]) -> list[str]:
    return [step["uses"].split("@")[0] for step in job["steps"] if "uses" in step]


def step_running(job: dict[str, Any], words: str) -> dict[str, Any]:
    matches = [step for step in job["steps"] if words in step.get("run", "")]
    assert len(matches) == 1, f"{len(matches)} steps run {words!r}"
    return matches[0]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def test_init_with_github_pages_writes_a_workflow_that_actionlint_accepts(tmp_path: Path) -> None:
    result = cli("init", str(tmp_path / "site"), "--github-pages")
    assert result.exit_code == 0, result.output
    path = tmp_path / "site" / WORKFLOW

    actionlint(path)
    doc = load(path)
    assert doc["on"]["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in doc["on"]
    assert doc["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert doc["concurrency"]["group"]
    build, deploy = doc["jobs"]["build"], doc["jobs"]["deploy"]
    assert steps_using(build) == [
        "actions/checkout", "actions/setup-python", "actions/configure-pages", "actions/upload-pages-artifact"
    ]
    upload = build["steps"][-1]["with"]
    assert upload == {"path": "_site", "include-hidden-files": True}
    assert build["defaults"]["run"]["working-directory"] == "."
    assert shlex.split(step_running(build, "pip install")["run"])[-1] == f"storysite=={__version__}"
    assert deploy["needs"] == "build"
    assert deploy["environment"]["name"] == "github-pages"
    assert steps_using(deploy) == ["actions/deploy-pages"]
    assert "GitHub Actions" in result.output


def test_the_build_step_builds_for_the_address_configure_pages_gives(tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert cli("init", str(site), "--github-pages").exit_code == 0
    build = load(site / WORKFLOW)["jobs"]["build"]
    step = step_running(build, "storysite build")
    configure = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/configure-pages"))
    assert step["env"] == {"PAGES_BASE_URL": "${{ steps." + configure["id"] + ".outputs.base_url }}"}

    scripts = str(Path(sys.executable).parent)
    env = {**os.environ, "PAGES_BASE_URL": PAGES_BASE_URL, "PATH": scripts + os.pathsep + os.environ["PATH"]}
    subprocess.run(["bash", "-c", step["run"]], cwd=site / build["defaults"]["run"]["working-directory"],
                   env=env, check=True, capture_output=True, timeout=300)

    home = lxml.html.fromstring((site / "_site" / "index.html").read_bytes())
    assert home.xpath("//head/link[@rel='stylesheet']/@href") == ["/repo/css/storysite.css"]
    assert home.xpath("//head/link[@rel='canonical']/@href") == [PAGES_BASE_URL + "/"]


def test_a_site_in_a_sub_folder_of_a_repository_gets_the_workflow_at_the_top(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "blog" / "content" / "stories").mkdir(parents=True)
    (repo / "blog" / "content" / "stories" / "a.md").write_text(story(), encoding="utf-8")
    (repo / "blog" / "storysite.yaml").write_text("output_dir: public\n", encoding="utf-8")
    git(repo, "init", "--quiet", "-b", "trunk")

    result = cli("gh-workflow", "-s", str(repo / "blog"))

    assert result.exit_code == 0, result.output
    assert not (repo / "blog" / ".github").exists()
    actionlint(repo / WORKFLOW)
    doc = load(repo / WORKFLOW)
    build = doc["jobs"]["build"]
    assert doc["on"]["push"]["branches"] == ["trunk"]
    assert build["defaults"]["run"]["working-directory"] == "blog"
    assert build["steps"][-1]["with"]["path"] == "blog/public"


def test_init_puts_the_workflow_in_the_new_site_even_inside_another_repository(tmp_path: Path) -> None:
    git(tmp_path, "init", "--quiet", "-b", "trunk")

    result = cli("init", str(tmp_path / "blog"), "--github-pages")

    assert result.exit_code == 0, result.output
    assert not (tmp_path / WORKFLOW).exists()
    doc = load(tmp_path / "blog" / WORKFLOW)
    assert doc["on"]["push"]["branches"] == ["main"]
    assert doc["jobs"]["build"]["defaults"]["run"]["working-directory"] == "."


def test_an_existing_workflow_is_replaced_only_with_force(tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert cli("init", str(site)).exit_code == 0
    (site / WORKFLOW).parent.mkdir(parents=True)
    (site / WORKFLOW).write_text("name: mine\n", encoding="utf-8")

    refused = cli("gh-workflow", "-s", str(site))
    assert refused.exit_code == 1
    assert "already exists (use --force" in refused.stderr
    assert (site / WORKFLOW).read_text(encoding="utf-8") == "name: mine\n"

    forced = cli("gh-workflow", "-s", str(site), "--force", "--branch", "release")
    assert forced.exit_code == 0, forced.output
    assert load(site / WORKFLOW)["on"]["push"]["branches"] == ["release"]
    again = cli("gh-workflow", "-s", str(site), "--branch", "release")
    assert again.exit_code == 0
    assert again.output.startswith("Unchanged: ")


def test_install_names_what_pip_installs(tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert cli("init", str(site)).exit_code == 0
    spec = "storysite @ git+https://github.com/example/storysite@v1.0"

    assert cli("gh-workflow", "-s", str(site), "--install", spec).exit_code == 0

    actionlint(site / WORKFLOW)
    run = step_running(load(site / WORKFLOW)["jobs"]["build"], "pip install")["run"]
    assert shlex.split(run) == ["python", "-m", "pip", "install", spec]


def test_an_output_folder_outside_the_repository_is_refused(tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert cli("init", str(site)).exit_code == 0
    (site / "storysite.yaml").write_text(f"output_dir: {tmp_path / 'elsewhere'}\n", encoding="utf-8")

    result = cli("gh-workflow", "-s", str(site))

    assert result.exit_code == 1
    assert "outside the repository" in result.stderr
    assert not (site / WORKFLOW).exists()


def test_this_repository_publishes_its_demo_with_its_own_checkout_of_storysite() -> None:
    workflow = plan_workflow(load_config(REPO), branch="main")

    assert workflow.install == "."
    assert (REPO / WORKFLOW).read_text(encoding="utf-8") == workflow.text, "run: storysite gh-workflow --branch main --force"
