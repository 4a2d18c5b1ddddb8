"""The compiled rule cache: a loaded rule set kept on disk as plain data, so that a new process
answers its first reply without parsing TOML, validating rules or compiling regexes.

One file per rule set, named by a key: a checksum of everything loading depends on (each
rule file's path and bytes, in load order; the source of the modules that read and check
them; the package, Python and ``regex`` versions). Editing a rule file changes the key, so
the next load reads the files again (a broken file then fails exactly as without a cache:
nothing invalid is ever stored) and stores the new rule set; old files are evicted beyond
MAX_FILES files or MAX_BYTES bytes.

A file holds a magic line, the key, a checksum of the payload and the payload: plain
data only (strings, numbers, tuples, dicts, bytes) in ``marshal`` form, each compiled regex
as the arguments that ``regex``'s own pickle support rebuilds it from. Nothing in it is
executed: the reader unpacks the data into the rule set's own classes, and any shape it
does not expect makes it load from the files instead. A file that is truncated, corrupt
(its checksum differs), foreign, too large, not owned by the user or writable by others (or
in a directory that is) is ignored and written again: only the user can have written what
is read, as only the user can write their configuration and rule directories. A write goes
to a temporary file renamed into place, so concurrent processes read the old file or the
whole new one, never a part.

Where: the directory named by SMTP_CLASSIFIER_CACHE (an empty value: no cache), else
``$XDG_CACHE_HOME/smtp-classifier`` (``~/.cache/smtp-classifier`` when unset).
"""

from __future__ import annotations

import copyreg
import marshal
import os
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

import regex

from ._version import __version__

__all__ = [
    "CACHE_ENV",
    "KEY_BYTES",
    "MAX_BYTES",
    "MAX_FILES",
    "cache_dir",
    "pattern_from_state",
    "pattern_state",
    "read_cache",
    "rule_set_key",
    "write_cache",
]

#: Environment variable naming the cache directory ("" for no cache).
CACHE_ENV: Final = "SMTP_CLASSIFIER_CACHE"
#: Files the cache keeps at most (the most recently written ones).
MAX_FILES: Final = 16
#: Bytes the cache's files may hold together; one file larger than this is never written.
MAX_BYTES: Final = 64 * 1024 * 1024
#: Bytes of one rule file taken into a key; a larger file is left to the loader to refuse.
MAX_SOURCE_BYTES: Final = 4 * 1024 * 1024
#: The first bytes of every cache file: the format, changed whenever the payload changes.
MAGIC: Final = b"smtp-classifier compiled rules 2\n"
#: Bytes of a key and of a payload's checksum (see ``_Checksum``).
KEY_BYTES: Final = 16
_PREFIX: Final = "rules-"
_SUFFIX: Final = ".bin"
#: Temporary files older than this (seconds) were left by a writer that died: removed.
_STALE: Final = 3600.0
#: The modules whose code decides what a loaded rule set holds: a change to them is a new key.
_LOADERS: Final = (
    "codes.py",
    "conditions.py",
    "enums.py",
    "prefilter.py",
    "rulecache.py",
    "rules.py",
    "meaning/frames.py",
    "meaning/lexicon.py",
    "meaning/load.py",
    "meaning/normalise.py",
)


class _Checksum:
    """CRC-32 and Adler-32 of a stream of bytes, with its length: 16 bytes.

    Enough to tell an edited rule file or a damaged cache file from the one stored (what
    is read is trusted for its owner, not for its checksum: see ``_trusted``), and ``zlib``
    loads in a fraction of a millisecond where ``hashlib`` (OpenSSL) costs a new process
    about 4 ms before its first answer.
    """

    __slots__ = ("_adler", "_crc", "_length")

    def __init__(self) -> None:
        self._crc = 0
        self._adler = 1
        self._length = 0

    def update(self, data: bytes | memoryview) -> None:
        self._crc = zlib.crc32(data, self._crc)
        self._adler = zlib.adler32(data, self._adler)
        self._length += len(data)

    def digest(self) -> bytes:
        return b"".join(
            (
                self._crc.to_bytes(4, "big"),
                self._adler.to_bytes(4, "big"),
                self._length.to_bytes(8, "big"),
            )
        )


def _checksum(data: bytes | memoryview) -> bytes:
    checksum = _Checksum()
    checksum.update(data)
    return checksum.digest()


def cache_dir() -> Path | None:
    """The cache directory that applies (None: no cache)."""
    named = os.environ.get(CACHE_ENV)
    if named is not None:
        return Path(named) if named else None
    home = os.environ.get("XDG_CACHE_HOME")
    if not home:
        try:
            home = str(Path.home() / ".cache")
        except (RuntimeError, KeyError):  # no home directory: no cache
            return None
    return Path(home) / "smtp-classifier"


def rule_set_key(files: Sequence[Path], options: str) -> bytes | None:
    """The key of the rule set loaded from ``files`` (in load order) with ``options``; None
    when a file is not a regular file or cannot be read (the loader then says why)."""
    checksum = _Checksum()
    checksum.update(MAGIC)
    for part in (__version__, sys.version, regex.__version__, options):
        checksum.update(part.encode("utf-8", "surrogatepass") + b"\0")
    here = Path(__file__).resolve().parent
    for path in (*(here / name for name in _LOADERS), *files):
        try:
            if not path.is_file() or path.stat().st_size > MAX_SOURCE_BYTES:
                return None
            data = path.read_bytes()
        except (OSError, ValueError):
            return None
        name = str(path).encode("utf-8", "surrogatepass")
        checksum.update(b"%d:%b\0%d:" % (len(name), name, len(data)))
        checksum.update(data)
    return checksum.digest()


def _file(directory: Path, key: bytes) -> Path:
    return directory / f"{_PREFIX}{key.hex()[:40]}{_SUFFIX}"


def _trusted(st: os.stat_result) -> bool:
    """Owned by this user and writable by no one else (where the system has owners)."""
    getuid: Callable[[], int] | None = getattr(os, "geteuid", None)
    if getuid is None:
        return True
    return st.st_uid == getuid() and not st.st_mode & 0o022


def read_cache(directory: Path, key: bytes) -> Any | None:
    """The payload stored under ``key``, or None (absent, unreadable, untrusted, corrupt)."""
    path = _file(directory, key)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        if not _trusted(directory.stat()):
            return None
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as handle:
            st = os.fstat(handle.fileno())
            if not _trusted(st) or st.st_size > MAX_BYTES:
                return None
            blob = handle.read(MAX_BYTES + 1)
    except OSError:
        return None
    head = len(MAGIC) + 2 * KEY_BYTES
    if len(blob) < head or not blob.startswith(MAGIC):
        return None
    stored_key = blob[len(MAGIC) : len(MAGIC) + KEY_BYTES]
    stored_digest = blob[len(MAGIC) + KEY_BYTES : head]
    payload = memoryview(blob)[head:]
    if stored_key != key or _checksum(payload) != stored_digest:
        return None
    try:
        data = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return None
    return data


def write_cache(directory: Path, key: bytes, data: Any) -> bool:
    """Store ``data`` (plain data) under ``key``: atomically, within the cache's bounds.
    Returns whether it was stored; a cache that cannot be written is no error."""
    try:
        payload = marshal.dumps(data)
    except ValueError:
        return False
    blob = b"".join((MAGIC, key, _checksum(payload), payload))
    if len(blob) > MAX_BYTES:
        return False
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _trusted(directory.stat()):
            return False
        temp = directory / f".tmp-{os.getpid()}-{os.urandom(6).hex()}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(blob)
            os.replace(temp, _file(directory, key))
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
    except OSError:
        return False
    _evict(directory, _file(directory, key))
    return True


def _evict(directory: Path, written: Path) -> None:
    """Keep the newest MAX_FILES files within MAX_BYTES (the one just ``written`` first: file
    times may be too coarse to order files written in one instant); remove temporary files
    left behind by writers that died."""
    now = time.time()
    kept: list[tuple[float, int, Path]] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        try:
            if entry.name.startswith(".tmp-"):
                if now - entry.stat(follow_symlinks=False).st_mtime > _STALE:
                    os.unlink(entry.path)
            elif entry.name.startswith(_PREFIX) and entry.name.endswith(_SUFFIX):
                st = entry.stat(follow_symlinks=False)
                newest = entry.name == written.name
                kept.append((float("inf") if newest else st.st_mtime, st.st_size, Path(entry.path)))
        except OSError:
            continue
    kept.sort(key=lambda item: item[0], reverse=True)
    total = 0
    for number, (_mtime, size, path) in enumerate(kept):
        total += size
        if number >= MAX_FILES or total > MAX_BYTES:
            path.unlink(missing_ok=True)


# -- compiled regexes as plain data ----------------------------------------------------------

_rebuild: Callable[..., Any] | None = None


def _reduce(pattern: regex.Pattern[str]) -> tuple[Any, ...]:
    """``regex``'s own pickle form of a compiled pattern: (rebuilding function, arguments)."""
    reduced: Any = copyreg.dispatch_table[type(pattern)](pattern)
    return tuple(reduced)


def pattern_state(pattern: regex.Pattern[str]) -> tuple[Any, ...]:
    """The plain arguments ``regex`` rebuilds this compiled pattern from (its pickle form)."""
    return tuple(_reduce(pattern)[1])


def pattern_from_state(state: Any) -> regex.Pattern[str]:
    """The compiled pattern back from ``pattern_state``; ValueError when it is not one."""
    global _rebuild  # noqa: PLW0603 - found once, from the library's own pickle support
    rebuild = _rebuild
    if rebuild is None:
        rebuild = _rebuild = _reduce(regex.compile("x"))[0]
    if not isinstance(state, tuple) or not state or not isinstance(state[0], str):
        raise ValueError("not a compiled pattern")
    try:
        pattern = rebuild(*state)
    except (TypeError, ValueError, OverflowError, regex.error) as exc:
        raise ValueError(f"not a compiled pattern: {exc}") from exc
    if not isinstance(pattern, regex.Pattern) or pattern.pattern != state[0]:
        raise ValueError("not a compiled pattern")
    return pattern
