"""The public API: a small, explicit __all__, every name importable, heavy parts loaded lazily."""

from __future__ import annotations

import subprocess
import sys

import classifier


def test_all_names_resolve() -> None:
    assert len(classifier.__all__) == len(set(classifier.__all__))
    for name in classifier.__all__:
        assert getattr(classifier, name) is not None, name


def test_unknown_attribute_raises() -> None:
    try:
        classifier.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_classify_does_not_load_the_network_stack() -> None:
    code = (
        "import sys, classifier; classifier.classify('550 5.1.1 user unknown'); "
        "print('aiosmtplib' in sys.modules or 'dns.resolver' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_package_is_typed() -> None:
    from importlib.resources import files

    assert (files("classifier") / "py.typed").is_file()
