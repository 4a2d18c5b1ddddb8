"""The HTTP service: the ASGI application in process, and the real command on loopback."""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from classifier import Classifier, all_codes, classify
from classifier.serve import ServeApp, ServeLimits

from .conftest import FIXTURES, ROOT

RULE = """\
[meta]
description = "a gateway of our own"

[[rule]]
id = "acme.quarantine"
reason = "policy_rejected"
pattern = '''message quarantined by acme'''

[[rule.example]]
reply = "550 5.7.1 Message quarantined by ACME (ref 12ab)"
code = "554"
source = "made up for the test"
"""


def _call(
    app: ServeApp,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    chunks: list[bytes] | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> tuple[int, Any, dict[bytes, bytes]]:
    """One request through the ASGI interface; the status, JSON body and headers."""
    pieces = chunks if chunks is not None else [body]
    if headers is None and chunks is None:
        headers = [(b"content-length", str(len(body)).encode())]
    scope = {"type": "http", "method": method, "path": path, "headers": headers or []}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        piece = pieces.pop(0) if pieces else b""
        return {"type": "http.request", "body": piece, "more_body": bool(pieces)}

    async def send(message: Any) -> None:
        sent.append(dict(message))

    asyncio.run(app(scope, receive, send))
    start, content = sent
    return start["status"], json.loads(content["body"]), dict(start["headers"])


@pytest.fixture(scope="module")
def app() -> ServeApp:
    return ServeApp(limits=ServeLimits(max_body=4096, max_mail=64 * 1024, max_batch=5))


def test_one_reply_is_classify(app: ServeApp) -> None:
    reply = "452 4.2.2 Mailbox full"
    status, data, headers = _call(
        app, "POST", "/v1/classify", json.dumps({"reply": reply, "stage": "rcpt"}).encode()
    )
    assert status == 200 and headers[b"content-type"] == b"application/json"
    assert data["result"] == classify(reply, stage="rcpt").to_dict()


def test_batch_keeps_order_stages_and_explains(app: ServeApp) -> None:
    body = {
        "replies": [
            "550 5.1.1 <a@example.com>: Recipient address rejected: User unknown",
            {"reply": "550 5.1.1 User unknown", "stage": "mail"},
            "",
        ],
        "stage": "rcpt",
        "explain": True,
    }
    status, data, _ = _call(app, "POST", "/v1/classify", json.dumps(body).encode())
    assert status == 200 and data["count"] == 3
    codes = [r["code"] for r in data["results"]]
    assert codes == ["131", "554", None]  # at MAIL it is the sender; null: unrecognised
    assert data["results"][1]["stage"] == "mail"
    assert data["results"][0]["explanation"].startswith("131 ")


def test_lone_surrogates_and_control_characters_are_answered(app: ServeApp) -> None:
    body = b'{"reply": "550 5.1.1 \\ud800 user unknown \\u0000\\u001b"}'
    status, data, _ = _call(app, "POST", "/v1/classify", body)
    assert status == 200 and data["result"]["code"] == "131"


@pytest.mark.parametrize(
    ("body", "status", "kind"),
    [
        (b"{not json", 400, "bad_json"),
        (b"\xff\xfe\x00garbage", 400, "bad_json"),
        (b"[" * 100_000 + b"]" * 100_000, 413, "too_large"),
        (b'["550 user unknown"]', 422, "wrong_type"),
        (b'{"reply": 550}', 422, "wrong_type"),
        (b'{"reply": "550", "stage": 3}', 422, "wrong_type"),
        (b'{"reply": "550", "stage": "' + b"x" * 100 + b'"}', 422, "wrong_type"),
        (b'{"reply": "550", "explain": "yes"}', 422, "wrong_type"),
        (b'{"replies": "550"}', 422, "wrong_type"),
        (b'{"replies": [550]}', 422, "wrong_type"),
        (b'{"replies": [{"stage": "rcpt"}]}', 422, "wrong_type"),
        (b'{"replies": ["a", "b", "c", "d", "e", "f"]}', 413, "batch_too_large"),
        (b'{"something": "else"}', 422, "wrong_type"),
        (b"1" * 5000, 413, "too_large"),
    ],
)
def test_bad_requests_get_a_json_4xx(app: ServeApp, body: bytes, status: int, kind: str) -> None:
    got, data, _ = _call(app, "POST", "/v1/classify", body)
    assert (got, data["error"]["type"]) == (status, kind)
    assert data["error"]["status"] == status and data["error"]["message"]


@pytest.mark.parametrize(
    "body", [b"[" * 200_000 + b"]" * 200_000, b'{"reply": 1' + b"0" * 5000 + b"}"]
)
def test_deep_nesting_and_huge_numbers_are_bad_json(body: bytes) -> None:
    got, data, _ = _call(ServeApp(), "POST", "/v1/classify", body)
    assert (got, data["error"]["type"]) == (400, "bad_json")


def test_oversized_body_without_length_is_cut_off(app: ServeApp) -> None:
    """A chunked body is counted as it arrives: refused once over the limit, not buffered."""
    chunks = [b'{"reply": "'] + [b"x" * 1000] * 10 + [b'"}']
    status, data, _ = _call(app, "POST", "/v1/classify", chunks=chunks, headers=[])
    assert status == 413 and data["error"]["type"] == "too_large"


def test_routes_and_methods(app: ServeApp) -> None:
    status, data, _ = _call(app, "GET", "/nowhere")
    assert status == 404 and data["error"]["type"] == "not_found"
    status, data, headers = _call(app, "GET", "/v1/classify")
    assert status == 405 and headers[b"allow"] == b"POST"
    status, data, _ = _call(app, "GET", "/healthz")
    assert status == 200 and data["status"] == "ok" and data["rules"] > 300
    status, data, _ = _call(app, "GET", "/v1/codes")
    assert [c["code"] for c in data] == [c.code for c in all_codes()]
    assert data[0].keys() >= {"label_es", "label_en", "estado", "retry", "final"}
    status, data, _ = _call(app, "GET", "/openapi.json")
    assert status == 200 and data["openapi"].startswith("3.")
    assert set(data["paths"]) == {"/v1/classify", "/v1/classify-mail", "/v1/codes", "/healthz"}
    limits = data["paths"]["/v1/classify"]["post"]["requestBody"]["content"]["application/json"]
    assert limits["schema"]["oneOf"][1]["properties"]["replies"]["maxItems"] == 5


def test_mail_is_classify_message(app: ServeApp) -> None:
    raw = next(p for p in sorted((FIXTURES / "mail").glob("*.eml")) if p.stat().st_size < 60_000)
    status, data, _ = _call(app, "POST", "/v1/classify-mail", raw.read_bytes())
    from classifier import classify_message

    assert status == 200
    assert data == json.loads(json.dumps(classify_message(raw.read_bytes()).to_dict()))


@pytest.mark.parametrize(
    ("body", "status", "kind"),
    [
        (b"", 400, "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 422, "not_a_message"),
        (b"From: a@example.com\x00\nSubject: x\n\nbody", 422, "not_a_message"),
        (b"just a sentence, no header at all\n\nand more", 422, "not_a_message"),
        (b"Subject: big\n\n" + b"x" * 70_000, 413, "too_large"),
    ],
)
def test_bad_mail_gets_a_json_4xx(app: ServeApp, body: bytes, status: int, kind: str) -> None:
    got, data, _ = _call(app, "POST", "/v1/classify-mail", body)
    assert (got, data["error"]["type"]) == (status, kind)


def test_latin1_mail_is_read() -> None:
    app = ServeApp()
    raw = "Subject: Rückläufer\nFrom: MAILER-DAEMON@example.org\n\n550 5.1.1 user unknown\n"
    status, data, _ = _call(app, "POST", "/v1/classify-mail", raw.encode("latin-1"))
    assert status == 200 and "kind" in data


# --- the real command -----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """``smtp-classifier serve`` on a free loopback port, with a rule directory of ours."""
    pytest.importorskip("uvicorn", reason="the serve extra (uvicorn) is not installed")
    rules = tmp_path_factory.mktemp("rules")
    (rules / "acme.toml").write_text(RULE, encoding="utf-8")
    port = _free_port()
    command = [sys.executable, "-m", "classifier", "serve", "--port", str(port)]
    command += ["--rules", str(rules), "--max-batch", "50", "--max-body", "100000"]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(200):  # up to about 20 s for the process to import and bind
            if proc.poll() is not None:
                pytest.fail(
                    f"serve exited {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}"
                )
            try:
                if _request(port, "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("serve did not answer /healthz")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()


def test_cli_serves_own_rules_and_limits(server: int) -> None:
    status, data = _request(
        server, "POST", "/v1/classify", b'{"reply": "550 5.7.1 Message quarantined by ACME"}'
    )
    assert status == 200 and data["result"]["rule_id"] == "acme.quarantine"
    ours = Classifier.from_dirs([]).classify("550 5.7.1 Message quarantined by ACME")
    assert ours.rule_id != "acme.quarantine"  # the rule came from --rules
    status, data = _request(
        server, "POST", "/v1/classify", json.dumps({"replies": ["x"] * 51}).encode()
    )
    assert status == 413 and data["error"]["type"] == "batch_too_large"


def test_cli_answers_bad_input_with_4xx_never_500(server: int) -> None:
    cases: list[tuple[str, bytes, dict[str, str]]] = [
        ("/v1/classify", b"{oops", {}),
        ("/v1/classify", b'{"reply": ["a"]}', {}),
        ("/v1/classify", b"x" * 200_000, {}),
        ("/v1/classify-mail", bytes(range(256)) * 10, {}),
        ("/v1/classify-mail", b"", {}),
    ]
    for path, body, headers in cases:
        status, data = _request(server, "POST", path, body, headers)
        assert 400 <= status < 500, (path, body[:20], status, data)
        assert data["error"]["status"] == status
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
    try:  # a chunked body with no length, over the limit
        conn.request("POST", "/v1/classify", body=iter([b"x" * 60_000] * 3), encode_chunked=True)
        response = conn.getresponse()
        assert response.status == 413 and json.loads(response.read())["error"]["status"] == 413
    finally:
        conn.close()
    status, data = _request(server, "GET", "/v1/codes")
    assert status == 200 and len(data) == len(list(all_codes()))


#: Runs the documented Haraka plugin (docs/scale.md) as Haraka would: ``hook_bounce`` called on
#: the plugin with ``next``, a mail whose ``todo.rcpt_to`` are addresses with their ``reason``,
#: and the bounce error; prints what the plugin logged once it calls ``next``.
_HARAKA_DRIVER = """
const fs = require('fs');
const [plugin_path, port, cases] = process.argv.slice(2);
const source = fs.readFileSync(plugin_path, 'utf8')
  .replace('http://127.0.0.1:8080', `http://127.0.0.1:${port}`);
const module_ = { exports: {} };
new Function('exports', 'module', source)(module_.exports, module_);
const run = async () => {
  const out = [];
  for (const [rcpts, error] of JSON.parse(cases)) {
    const logged = [];
    const plugin = {
      loginfo: (text) => logged.push(['info', text]),
      logerror: (text) => logged.push(['error', text]),
    };
    const rcpt_to = rcpts.map(([address, reason]) => ({ reason, toString: () => `<${address}>` }));
    await new Promise((done) =>
      module_.exports.hook_bounce.call(plugin, done, { todo: { rcpt_to } }, error));
    out.push(logged);
  }
  console.log(JSON.stringify(out));
};
run();
"""


def test_documented_haraka_plugin_against_the_service(server: int, tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the Haraka example cannot run")
    docs = (ROOT / "docs" / "scale.md").read_text(encoding="utf-8")
    found = re.search(r"From a Haraka plugin.*?```js\n(.*?)```", docs, re.S)
    assert found is not None
    plugin = tmp_path / "smtp_classifier.js"
    plugin.write_text(found.group(1), encoding="utf-8")
    driver = tmp_path / "driver.js"
    driver.write_text(_HARAKA_DRIVER, encoding="utf-8")
    unknown = "550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown"
    quarantined = "550 5.7.1 Message quarantined by ACME (ref 9)"
    cases = [
        [
            [["gone@example.org", unknown], ["q@example.net", quarantined], ["f@x.org", ""]],
            "452 4.2.2 Mailbox full",
        ],
        [[[f"r{n}@example.org", unknown] for n in range(51)], "over the batch limit"],
    ]
    done = subprocess.run(
        [node, str(driver), str(plugin), str(server), json.dumps(cases)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    batch, oversized = json.loads(done.stdout)
    clf = Classifier.from_dirs([])
    bundled = [("gone@example.org", clf.classify(unknown, stage="rcpt"))]
    bundled.append(("f@x.org", clf.classify("452 4.2.2 Mailbox full", stage="rcpt")))
    want = [f"<{a}>: {r.code} {r.reason} ({r.rule_id})" for a, r in bundled]
    want.insert(1, "<q@example.net>: 554 policy_rejected (acme.quarantine)")
    assert want[0].startswith("<gone@example.org>: 131 user_unknown (")
    assert batch == [["info", line] for line in want]
    assert len(oversized) == 1 and oversized[0][0] == "error"
    assert oversized[0][1].startswith("smtp-classifier: Error: 413 batch_too_large: ")
