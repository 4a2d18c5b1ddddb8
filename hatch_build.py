"""Wheel build hook: the hot modules compiled with mypyc, when asked.

``SMTP_CLASSIFIER_MYPYC=1 python -m build --wheel`` (or ``SMTP_CLASSIFIER_MYPYC=1 pip install
.``) compiles the modules listed under ``[tool.hatch.build.targets.wheel.hooks.custom]`` in
pyproject.toml, from the same typed source, into C extensions that the wheel carries beside
the ``.py`` files (Python imports an extension before a source file of the same name). Any
other build, an editable install and the sdist are pure Python, and need neither mypy nor a
C compiler; a source checkout stays importable as pure Python.

Why this hook rather than the ``hatch-mypyc`` plugin: that plugin builds the extensions in
place, in the source tree, and moves pyproject.toml aside while it runs; here the package is
copied into a temporary directory, compiled there, and only the built extensions are added
to the wheel, so nothing is written into the checkout. Its build dependencies (mypy,
setuptools for the C build, the runtime dependencies and stubs for the type check) are asked
for only when compiling.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

#: The environment variable that asks for the compiled build ("1", "true" or "yes").
ENABLE = "SMTP_CLASSIFIER_MYPYC"

#: The setup script run in the temporary copy: mypyc's own way to build extensions.
_SETUP = """\
from setuptools import setup
from mypyc.build import mypycify

setup(name="smtp_classifier_compiled", ext_modules=mypycify({args!r}, group_name="classifier"))
"""


def enabled() -> bool:
    """Whether this build compiles: the opt-in variable is set to a true value."""
    return os.environ.get(ENABLE, "").strip().lower() in {"1", "true", "yes"}


class MypycBuildHook(BuildHookInterface):
    """Compiles the configured modules and adds the extensions to the wheel."""

    def dependencies(self) -> list[str]:
        """mypy (with mypyc), setuptools and what the type check reads, when compiling."""
        if not enabled():
            return []
        extra: list[str] = self.config.get("dependencies-when-compiling", [])
        return [*extra, *self.metadata.core.dependencies]

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Compile in a temporary copy; add the built extensions to a platform wheel."""
        if self.target_name != "wheel" or version == "editable" or not enabled():
            return
        modules: list[str] = self.config.get("compile", [])
        if not modules:
            raise ValueError("the mypyc hook has no modules to compile ('compile' is empty)")
        self._work = work = Path(tempfile.mkdtemp(prefix="smtp-classifier-mypyc-"))
        try:
            extensions = self._compile(Path(self.root), work, modules)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        for path, name in extensions.items():
            build_data["force_include"][path] = name
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    @staticmethod
    def _compile(root: Path, work: Path, modules: list[str]) -> dict[str, str]:
        """The extensions built from ``modules`` in ``work``: their paths, by wheel path."""
        shutil.copytree(
            root / "classifier",
            work / "classifier",
            ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd"),
        )
        args = [*modules, "--config-file", str(root / "pyproject.toml")]
        (work / "setup.py").write_text(_SETUP.format(args=args), encoding="utf-8")
        built = work / "lib"
        command = ["build_ext", "--build-lib", str(built), "--build-temp", str(work / "tmp")]
        subprocess.run([sys.executable, "setup.py", *command], cwd=work, check=True)
        suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
        extensions = sorted(built.rglob(f"*{suffix}"))
        if len(extensions) <= len(modules):  # one per module and the shared library
            raise RuntimeError(f"mypyc built {len(extensions)} extensions for {len(modules)}")
        return {str(path): path.relative_to(built).as_posix() for path in extensions}

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        """Remove the temporary copy once the wheel holds its extensions."""
        work: Path | None = getattr(self, "_work", None)
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
