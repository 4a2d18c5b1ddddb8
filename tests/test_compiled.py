"""The compiled build answers exactly as the pure-Python one.

The compiled wheel (``SMTP_CLASSIFIER_MYPYC=1 python -m build --wheel``, docs/scale.md) is
installed in its own virtual environment, named by ``SMTP_CLASSIFIER_COMPILED_PYTHON`` (its
Python). Both record every answer of bench/answers.py: every fixture reply
(fixtures/replies, fixtures/firstsight), every rule example, the Sisimai corpus through
``classify_message``, the replay rows of the bundled and of a generated Postfix log, the
ledger events of the generated log, and the bench's mix and distinct inputs; every answer
(code, rule, reason, stage, tier, text, row, event) must be the same. The black-box tests of
bad input, pickling and replay workers also run in the compiled build. Without the variable
the tests are skipped: a source checkout has no compiled build to compare.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPILED_PYTHON = os.environ.get("SMTP_CLASSIFIER_COMPILED_PYTHON", "")

pytestmark = pytest.mark.skipif(
    not COMPILED_PYTHON,
    reason="no compiled build: set SMTP_CLASSIFIER_COMPILED_PYTHON to the Python of a venv "
    "holding the wheel built with SMTP_CLASSIFIER_MYPYC=1 (see docs/scale.md)",
)

#: Prints where each module of the compile list was imported from.
_WHERE = """
import importlib, json, sys
print(json.dumps({m: importlib.import_module(m).__file__ for m in sys.argv[1:]}))
"""


#: Test files that run in the compiled build as well (black-box: they patch no internals, and
#: they hold where the package is installed): bad input, pickling, replay with workers.
BOTH_BUILDS = (
    "test_engine.py",
    "test_ledger_feed.py",
    "test_message_robustness.py",
    "test_picklable.py",
    "test_replay.py",
    "test_replay_damaged.py",
    "test_reply.py",
    "test_robustness.py",
    "test_surrogates.py",
)


def _compiled_modules() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    paths: list[str] = config["tool"]["hatch"]["build"]["targets"]["wheel"]["hooks"]["custom"][
        "compile"
    ]
    return [p.removesuffix(".py").replace("/", ".") for p in paths]


def _where(python: str, cwd: Path) -> dict[str, str]:
    done = subprocess.run(
        [python, "-c", _WHERE, *_compiled_modules()],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
    )
    found: dict[str, str] = json.loads(done.stdout)
    return found


def test_the_compiled_build_is_compiled_and_the_checkout_is_not(tmp_path: Path) -> None:
    """Each module of the compile list is an extension in the compiled venv, and source here."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    compiled = _where(COMPILED_PYTHON, tmp_path)
    assert compiled, "the compile list is empty"
    for module, path in compiled.items():
        assert path.endswith(suffix), f"{module} is not compiled in {COMPILED_PYTHON}: {path}"
        assert not Path(path).is_relative_to(ROOT), f"{module} comes from the checkout: {path}"
    for module, path in _where(sys.executable, ROOT).items():
        assert path.endswith(".py"), f"{module} is not pure Python in this checkout: {path}"


def test_compiled_and_pure_give_the_same_answers(tmp_path: Path) -> None:
    """Every answer of bench/answers.py, recorded pure and compared compiled: no difference."""
    pure = tmp_path / "pure.json"
    answers = str(ROOT / "bench" / "answers.py")
    subprocess.run(
        [sys.executable, answers, "record", str(pure)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    recorded = json.loads(pure.read_text(encoding="utf-8"))
    assert all(recorded.values()), {name: len(v) for name, v in recorded.items()}
    done = subprocess.run(
        [COMPILED_PYTHON, answers, "compare", str(pure), "--show", "10"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    total = sum(len(v) for v in recorded.values())
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{total} answers compared, 0 different" in done.stdout, done.stdout


def test_black_box_tests_pass_in_the_compiled_build(tmp_path: Path) -> None:
    """BOTH_BUILDS run by the compiled venv's pytest (the wheel's ``test`` extra), from
    outside the checkout so that its package is the one imported."""
    tests = [str(ROOT / "tests" / name) for name in BOTH_BUILDS]
    config = ["--rootdir", str(ROOT), "-c", str(ROOT / "pyproject.toml")]
    options = ["-p", "no:cacheprovider", "--import-mode=importlib", "-q", "-W", "error"]
    done = subprocess.run(
        [COMPILED_PYTHON, "-m", "pytest", *options, *config, *tests],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and " failed" not in done.stdout, done.stdout[-2000:]
