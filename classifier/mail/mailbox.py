"""Read mail from the places bounces are kept: .eml files, directories, mbox files, Maildirs.

Every message comes out as raw bytes with a name saying where it was found
(``path`` for a file, ``path#N`` for the N-th message of an mbox, ``-`` for stdin), so that a
result can be traced back to its message. In a directory, every file is either read or comes
out as a skipped entry with the reason (not mail, unreadable, a dangling link): nothing found
there is dropped in silence, and one bad entry never stops the others.
"""

from __future__ import annotations

import itertools
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

__all__ = ["MailSource", "iter_mail", "more_mbox_messages"]

#: A message larger than this is read only up to this size (the parser reads less anyway).
MAX_READ_BYTES = 64 * 1024 * 1024
_MAILDIR_SUBDIRS = ("cur", "new")
#: A header field line: a name (letters, digits, "-", and the "_" and "." seen in the wild),
#: then ":" (not a URL's "://").
_HEADER_LINE = re.compile(rb"[A-Za-z][A-Za-z0-9_.\-]{0,75}[ \t]*:(?!//)")
#: Lines at the head of a file searched for a header (a junk first line is tolerated).
_HEAD_LINES = 5
_BOM = b"\xef\xbb\xbf"
_SKIPPED_NAMES = frozenset({".DS_Store", "maildirfolder", "dovecot-uidlist", "dovecot.index"})


@dataclass(frozen=True, slots=True)
class MailSource:
    """One raw message and where it came from."""

    name: str
    data: bytes
    #: Why this entry of a directory was not read ("" when it was); ``data`` is then empty.
    skipped: str = ""
    #: True when the entry could not be read at all (an input error, not a choice).
    unreadable: bool = False


def _is_mbox(head: bytes) -> bool:
    return head.startswith(b"From ") and b"\n" in head


#: An mbox postmark with its date ("From MAILER-DAEMON  Thu Apr 29 23:34:45 2015") followed by
#: a header field: the start of another message, not a body line that begins with "From ".
_POSTMARK = re.compile(
    rb"\nFrom [^\s@]{1,64}(?:@[^\s]{1,255})? {1,2}[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d "
    rb"\d\d:\d\d:\d\d[^\n]{0,40}\r?\n[A-Za-z][A-Za-z0-9-]{0,75}:"
)


def more_mbox_messages(data: bytes) -> int:
    """How many more messages follow the first one in mbox data (0 for a single message).

    Counted only when the data starts with a "From " line and each further one is a dated
    postmark followed by a header field, so that a body line starting with "From " is none.
    """
    if not data.startswith(b"From "):
        return 0
    return sum(1 for _ in _POSTMARK.finditer(data))


def _split_mbox(data: bytes, name: str) -> Iterator[MailSource]:
    """Messages of an mbox file (mboxo/mboxrd: a "From " line starts each message)."""
    starts = [0]
    search = 0
    while True:
        index = data.find(b"\nFrom ", search)
        if index < 0:
            break
        starts.append(index + 1)
        search = index + 1
    starts.append(len(data))
    number = 0
    for begin, end in itertools.pairwise(starts):
        chunk = data[begin:end]
        if not chunk.strip():
            continue
        first_newline = chunk.find(b"\n")
        body = chunk[first_newline + 1 :] if chunk.startswith(b"From ") else chunk
        body = body.replace(b"\n>From ", b"\nFrom ")
        number += 1
        yield MailSource(name=f"{name}#{number}", data=body)


def _read_file(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(MAX_READ_BYTES)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _from_file(path: Path) -> Iterator[MailSource]:
    """An mbox file, or one message (an .eml may start with a "From " line: it is one, unless
    dated postmarks followed by headers start more messages in it)."""
    data = _read_file(path)
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    if _is_mbox(data[:200]) and (path.suffix.lower() != ".eml" or more_mbox_messages(data)):
        yield from _split_mbox(data, str(path))
    elif data.startswith(b"From "):
        yield MailSource(name=str(path), data=data[data.find(b"\n") + 1 :])
    else:
        yield MailSource(name=str(path), data=data)


def _not_mail(head: bytes) -> str:
    """Why a file of a directory is not read as mail ("" when it starts like a message).

    A message starts with a "From " line (mbox) or, within its first lines, a header field;
    a byte order mark and a junk first line are tolerated.
    """
    if head.startswith(_BOM):
        head = head[len(_BOM) :]
    if not head.strip():
        return "empty file"
    if b"\0" in head:
        return "binary data, not a message"
    if head.startswith(b"From "):
        return ""
    lines = head.lstrip().split(b"\n", _HEAD_LINES)[:_HEAD_LINES]
    if any(_HEADER_LINE.match(line) for line in lines):
        return ""
    return f"not a message: no header field in its first {_HEAD_LINES} lines"


def _entry(path: Path) -> Iterator[MailSource]:
    """One file of a directory: its messages, or a skipped entry saying why."""
    name = str(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(1024)
    except OSError as exc:
        why = "dangling symbolic link" if path.is_symlink() and not path.exists() else ""
        reason = why or f"cannot read: {exc.strerror or exc}"
        yield MailSource(name, b"", skipped=reason, unreadable=True)
        return
    why = _not_mail(head)
    if why:
        yield MailSource(name, b"", skipped=why)
        return
    try:
        yield from _from_file(path)
    except InputError as exc:
        yield MailSource(name, b"", skipped=str(exc), unreadable=True)


def _from_directory(path: Path) -> Iterator[MailSource]:
    """A Maildir (its cur/ and new/), or any directory tree of message files."""
    if (path / "cur").is_dir():
        roots = [path / sub for sub in _MAILDIR_SUBDIRS if (path / sub).is_dir()]
    else:
        roots = [path]
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != "tmp" and not d.startswith("."))
            for filename in sorted(filenames):
                path_in = Path(dirpath) / filename
                if filename in _SKIPPED_NAMES or filename.startswith("."):
                    yield MailSource(str(path_in), b"", skipped="a mail store's own file")
                    continue
                if not path_in.is_file() and path_in.exists():
                    yield MailSource(str(path_in), b"", skipped="not a regular file")
                    continue
                yield from _entry(path_in)


def iter_mail(paths: Iterable[str]) -> Iterator[MailSource]:
    """Every message found under ``paths`` ("-" reads one message or an mbox from stdin).

    Raises InputError for a path that does not exist or cannot be read.
    """
    for raw in paths:
        if raw == "-":
            data = sys.stdin.buffer.read(MAX_READ_BYTES)
            if _is_mbox(data[:200]):
                yield from _split_mbox(data, "-")
            else:
                yield MailSource(name="-", data=data)
            continue
        path = Path(raw)
        if path.is_dir():
            yield from _from_directory(path)
        elif path.is_file():
            yield from _from_file(path)
        else:
            raise InputError(f"no such file or directory: {raw}")
