"""The command line: classify and check-rules, exit codes, JSON output."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from classifier import __version__
from classifier.cli import main

from .conftest import ROOT


def run(argv: list[str], stdin: str = "", monkeypatch: pytest.MonkeyPatch | None = None) -> int:
    assert monkeypatch is not None
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(argv)


def test_classify_arguments_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (
        run(
            ["classify", "550 5.1.1 user unknown", "452 4.2.2 mailbox full"],
            monkeypatch=monkeypatch,
        )
        == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("code")
    assert out[1].startswith("131") and out[2].startswith("202")


def test_classify_stdin_lines_and_jsonl_to_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = (
        "550 5.1.1 user unknown\n\n"
        + json.dumps({"reply": "550-5.7.1 a\r\n550 5.7.1 b", "stage": "end_of_data"})
        + "\n"
    )
    assert run(["classify", "--json", "--explain"], stdin, monkeypatch) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["code"] for r in rows] == ["131", "554"]
    assert rows[1]["stage"] == "end_of_data" and rows[1]["text"] == "a b"
    assert "explanation" in rows[0]


def test_classify_unrecognised_exits_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(["classify", "--json", "hello there"], monkeypatch=monkeypatch) == 1
    assert json.loads(capsys.readouterr().out)["code"] is None


def test_usage_error_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(["classify", "--no-such-flag"], monkeypatch=monkeypatch) == 2
    assert run([], monkeypatch=monkeypatch) == 2


def test_version(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(["--version"], monkeypatch=monkeypatch) == 0
    assert __version__ in capsys.readouterr().out


def test_check_rules_bundled(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(["check-rules"], monkeypatch=monkeypatch) == 0
    assert "0 example failures, 0 slow patterns" in capsys.readouterr().out


def test_check_rules_user_dir_failure_and_invalid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    good = tmp_path / "good"
    good.mkdir()
    (good / "r.toml").write_text(
        "[[rule]]\nid='local.never'\nreason='user_unknown'\npattern='zzqy never'\n"
        "[[rule.example]]\nreply='550 5.1.1 something else'\ncode='131'\nsource='test'\n",
        encoding="utf-8",
    )
    assert run(["check-rules", str(good)], monkeypatch=monkeypatch) == 1
    assert "local.never[0]" in capsys.readouterr().err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "r.toml").write_text(
        "[[rule]]\nid='x.y'\nreason='nope'\npattern='abc'\n", encoding="utf-8"
    )
    assert run(["check-rules", str(bad)], monkeypatch=monkeypatch) == 4
    assert "r.toml" in capsys.readouterr().err


def test_user_rules_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    d = tmp_path / "rules"
    d.mkdir()
    (d / "acme.toml").write_text(
        "[[rule]]\nid='acme.block'\nreason='policy_rejected'\npattern='ACME-BLOCK-7'\n"
        "[[rule.example]]\nreply='550 ACME-BLOCK-7'\ncode='554'\nsource='ACME ops runbook'\n",
        encoding="utf-8",
    )
    assert (
        run(["classify", "--json", "--rules", str(d), "550 ACME-BLOCK-7"], monkeypatch=monkeypatch)
        == 0
    )
    row = json.loads(capsys.readouterr().out)
    assert (row["code"], row["rule_id"]) == ("554", "acme.block")


def test_console_script_and_module_entry_point() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "classifier",
            "classify",
            "--json",
            "421 4.7.0 Try again later, closing connection.",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["code"] == "421"


def test_a_subcommand_loads_only_its_own_module() -> None:
    """``classify`` does not import what the other subcommands need (bounce mail, log
    replay, the probe's network libraries, the test harness), nor what a reply given as an
    argument and printed as a table does not need (shutil for the width, json, csv): each
    costs start-up time."""
    code = (
        "import sys; from classifier.cli import main; "
        "rc = main(['classify', '550 5.1.1 user unknown']); "
        "heavy = sorted(m for m in sys.modules if m.startswith(('classifier.mail', "
        "'classifier.logreplay', 'classifier.network', 'classifier.harness', "
        "'classifier.ledger', 'aiosmtplib', 'aiosmtpd', 'dns', 'shutil', 'json', 'csv'))); "
        "print(rc, heavy)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert done.stdout.splitlines()[-1] == "0 []"


def test_help_is_as_wide_as_the_terminal_says(monkeypatch: pytest.MonkeyPatch) -> None:
    from classifier.cli import build_parser
    from classifier.commands import terminal_columns

    monkeypatch.setenv("COLUMNS", "60")
    assert terminal_columns() == 60
    narrow = build_parser("classify").format_help()
    monkeypatch.setenv("COLUMNS", "200")
    wide = build_parser("classify").format_help()
    assert max(map(len, narrow.splitlines())) <= 58 < max(map(len, wide.splitlines()))
    monkeypatch.setenv("COLUMNS", "not a number")
    assert terminal_columns(fallback=77) in (77, terminal_columns())


def test_help_and_unknown_commands_still_name_every_subcommand(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from classifier.cli import build_parser

    every = build_parser()
    assert build_parser("classify").format_help() != every.format_help()
    for argv in (["--help"], ["-h", "classify"]):
        assert run(argv, monkeypatch=monkeypatch) == 0
        out = capsys.readouterr().out
        assert out == every.format_help()
        for command in ("classify", "check-rules", "replay", "classify-mail", "probe"):
            assert command in out
    for typo in ("clasify", "check_rules", "_common"):
        assert run([typo, "x"], monkeypatch=monkeypatch) == 2
        err = capsys.readouterr().err
        assert f"invalid choice: '{typo}'" in err and "'classify-mail'" in err
