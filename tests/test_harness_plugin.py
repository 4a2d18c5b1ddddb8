"""The pytest11 plugin, as another project sees it: the documented snippet runs, and projects
that never use the fixtures are untouched (no warnings under ``-W error``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run_pytest(project: Path) -> subprocess.CompletedProcess[str]:
    """pytest in a separate project directory, entry-point plugins loaded, other plugins off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    command = [sys.executable, "-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider"]
    command += ["-p", "no:asyncio", "-p", "no:hypothesispytest", str(project)]
    return subprocess.run(
        command, cwd=project, capture_output=True, text=True, timeout=60, env=env, check=False
    )


def test_documented_fixture_snippet_runs_in_another_project(tmp_path: Path) -> None:
    doc = (ROOT / "docs" / "harness.md").read_text(encoding="utf-8")
    snippet = re.search(r"```python\n(import smtplib\n.*?)```", doc, re.S)
    assert snippet is not None
    (tmp_path / "test_snippet.py").write_text(snippet.group(1), encoding="utf-8")
    result = _run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_projects_that_do_not_use_the_plugin_are_untouched(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text(
        "def test_plain(request):\n"
        "    assert request.config.pluginmanager.has_plugin('smtp_classifier')\n"
    )
    result = _run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert "warning" not in (result.stdout + result.stderr).lower()
