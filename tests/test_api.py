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


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


def test_check_domain_does_not_load_the_test_fakes() -> None:
    # The live DNS check is a user feature; the fake SMTP/DNS servers are test fakes only.
    loaded = _modules_after("import classifier\nclassifier.check_domain")
    assert "classifier.network.mx" in loaded  # the lazy name really was resolved
    fakes = {
        m for m in loaded if m == "aiosmtpd" or m.startswith(("aiosmtpd.", "classifier.harness"))
    }
    assert fakes == set()


def test_importing_classifier_loads_no_server() -> None:
    loaded = _modules_after("import classifier")
    assert not {m for m in loaded if m.startswith(("aiosmtpd", "classifier.harness", "aiosmtplib"))}


def test_public_functions_are_not_shadowed_by_subpackages() -> None:
    # Importing every subpackage must leave classifier.replay and classifier.probe the
    # functions of __all__ (a subpackage of the same name would replace them).
    import classifier.logreplay
    import classifier.network
    from classifier.logreplay.run import replay
    from classifier.network.probe import probe

    assert classifier.replay is replay
    assert classifier.probe is probe
