"""``smtp-classifier serve``: classify() over HTTP for MTAs in any language (needs uvicorn)."""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

from ..engine import Classifier
from ..serve import ServeApp, ServeLimits

__all__ = ["register", "run"]

_DESCRIPTION = """\
Serve classification over HTTP: POST /v1/classify (one reply or a batch, JSON), POST
/v1/classify-mail (a raw bounce message), GET /v1/codes, GET /healthz, GET /openapi.json.
The service keeps no state between requests: run several behind any load balancer. It binds
to 127.0.0.1 unless --host says otherwise. Needs the "serve" extra (uvicorn).
"""
_EPILOG = """\
The service keeps no state: for more cores, start one process per core with --reuse-port on
the same port (the kernel spreads connections), or several behind a load balancer.

exit codes: 0 stopped cleanly; 2 usage error, uvicorn missing or the address cannot be bound;
4 the rules are invalid.
"""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the serve subcommand."""
    defaults = ServeLimits()
    p = sub.add_parser(
        "serve",
        help="serve classify() and classify_message() over HTTP (JSON)",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (8080; 0: any free port)")
    p.add_argument(
        "--rules",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="extra rule directory, checked before the bundled rules (repeatable)",
    )
    p.add_argument(
        "--reuse-port",
        action="store_true",
        help="let several serve processes share the port (SO_REUSEPORT): one per core",
    )
    p.add_argument(
        "--max-body", type=int, default=defaults.max_body, help="bytes per /v1/classify body"
    )
    p.add_argument("--max-mail", type=int, default=defaults.max_mail, help="bytes per message")
    p.add_argument("--max-batch", type=int, default=defaults.max_batch, help="replies per batch")
    p.add_argument("--access-log", action="store_true", help="log every request")
    p.add_argument("--log-level", default="warning", help="uvicorn log level (warning)")
    p.set_defaults(func=run)


def _bind(host: str, port: int, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def run(args: argparse.Namespace) -> int:
    """Bind, then serve until interrupted."""
    try:
        import uvicorn  # noqa: PLC0415 - the serve extra is optional
    except ImportError:
        print(
            "smtp-classifier serve: uvicorn is missing; install the extra: "
            "pip install 'smtp-classifier[serve]'",
            file=sys.stderr,
        )
        return 2
    if min(args.max_body, args.max_mail, args.max_batch) < 1 or not 0 <= args.port <= 65535:
        print("smtp-classifier serve: limits and the port must be positive", file=sys.stderr)
        return 2
    limits = ServeLimits(max_body=args.max_body, max_mail=args.max_mail, max_batch=args.max_batch)
    classifier = Classifier.from_dirs(args.rules)  # invalid rules: exit 4 before binding
    try:
        sock = _bind(args.host, args.port, args.reuse_port)
    except OSError as exc:
        print(f"smtp-classifier serve: cannot bind {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(
        f"smtp-classifier serve: listening on http://{shown}:{port} "
        f"({len(classifier.rules.rules)} rules)",
        file=sys.stderr,
        flush=True,
    )
    config = uvicorn.Config(
        ServeApp(classifier, limits),
        log_level=args.log_level,
        access_log=args.access_log,
        server_header=False,
        lifespan="on",
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0
