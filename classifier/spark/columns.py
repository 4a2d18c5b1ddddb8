"""``classify_column``: the classification columns added to a Spark DataFrame, over Arrow.

The rows travel to the Python workers as Arrow record batches (``mapInArrow``) and come back
with the twelve columns of ``classifier.frames``. Each Python worker process builds its
classifier once and keeps it for every later batch and task (PySpark reuses its workers), so
no row ever pays for loading rules. Rule directories of the caller are read on the driver,
checked there, and shipped as a broadcast of their files' contents: executors need no shared
file system.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Final

from ..engine import Classifier, default_classifier
from ..errors import RuleError
from ..frames import COLUMNS, classification_columns, column_names

__all__ = [
    "RulePayload",
    "classify_column",
    "executor_classifier",
    "quiet_pandas_warning",
    "rule_payload",
]

#: Rule directories as shipped: a digest of the contents, then per directory its .toml files
#: as (name, bytes), in the order given.
RulePayload = tuple[str, tuple[tuple[tuple[str, bytes], ...], ...]]
#: Classifiers kept per worker process, keyed by the digest of their rules (bounded: a job
#: uses one or two rule sets).
_KEEP: Final = 4
_built: dict[str, Classifier] = {}
_lock = threading.Lock()


@contextlib.contextmanager
def quiet_pandas_warning() -> Iterator[None]:
    """PySpark warns about pandas releases it has not certified; only Arrow is used here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "PySpark does not yet fully support", FutureWarning)
        yield


def rule_payload(rules: Sequence[str | Path]) -> RulePayload:
    """The contents of the rule directories ``rules``, checked (RuleError) and digested."""
    Classifier.from_dirs(list(rules))  # fail here, with the real file names, not on executors
    digest = hashlib.sha256()
    dirs: list[tuple[tuple[str, bytes], ...]] = []
    for directory in rules:
        files = []
        for path in sorted(Path(directory).glob("*.toml")):
            data = path.read_bytes()
            files.append((path.name, data))
            digest.update(f"{len(dirs)}/{path.name}/{len(data)}\n".encode())
            digest.update(data)
        dirs.append(tuple(files))
    return digest.hexdigest(), tuple(dirs)


def executor_classifier(payload: RulePayload | None) -> Classifier:
    """The classifier of ``payload`` in this process: built on first use, then reused."""
    if payload is None:
        return default_classifier()
    digest, dirs = payload
    clf = _built.get(digest)
    if clf is not None:
        return clf
    with _lock:
        clf = _built.get(digest)
        if clf is None:
            root = Path(tempfile.mkdtemp(prefix="smtp-classifier-rules-"))
            try:
                paths = []
                for index, files in enumerate(dirs):
                    directory = root / str(index)
                    directory.mkdir()
                    for name, data in files:
                        (directory / Path(name).name).write_bytes(data)
                    paths.append(directory)
                clf = Classifier.from_dirs(paths)
            finally:
                shutil.rmtree(root, ignore_errors=True)
            if len(_built) >= _KEEP:
                _built.pop(next(iter(_built)))
            _built[digest] = clf
    return clf


def _arrow_type(kind: str) -> Any:
    import pyarrow as pa  # noqa: PLC0415 - on executors, where the spark extra is installed

    return pa.bool_() if kind == "bool" else pa.string()


def classify_column(
    df: Any,
    column: str,
    *,
    stage: str | None = None,
    rules: Sequence[str | Path] = (),
    prefix: str = "",
) -> Any:
    """``df`` with the classification of its string column ``column`` added (lazily).

    ``stage`` names a column with each row's SMTP stage (a column called "stage" is replaced
    by the classified stage); ``rules`` are rule directories checked before the bundled rules.
    The added columns are those of ``classifier.frames.COLUMNS``: strings (null when empty,
    so ``code`` is null when unrecognised) and two booleans.
    """
    from pyspark.sql.types import (  # noqa: PLC0415 - the spark extra is optional
        BooleanType,
        StringType,
        StructField,
        StructType,
    )

    names = set(df.columns)
    for name in (column, stage):
        if name is not None and name not in names:
            raise KeyError(f"no column {name!r} in the DataFrame")
    added = column_names(prefix)
    clash = sorted(set(added) & (names - {stage}))
    if clash:
        raise ValueError(f"the DataFrame already has columns {clash}; pass prefix= to add others")
    try:
        payload = rule_payload(rules) if rules else None
    except OSError as exc:
        raise RuleError(f"cannot read rule directory: {exc}") from exc
    shipped = df.sparkSession.sparkContext.broadcast(payload) if payload is not None else None
    kinds = {prefix + name: kind for name, kind in COLUMNS}
    fields = [
        StructField(f.name, StringType(), True) if f.name in kinds else f for f in df.schema.fields
    ]
    fields += [
        StructField(name, BooleanType() if kind == "bool" else StringType(), kind != "bool")
        for name, kind in kinds.items()
        if name not in names
    ]
    schema = StructType(fields)
    order = [f.name for f in fields]

    def classify_batches(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa  # noqa: PLC0415 - runs on the executors

        clf = executor_classifier(shipped.value if shipped is not None else None)
        for batch in batches:
            replies = batch.column(column).to_pylist()
            stages = batch.column(stage).to_pylist() if stage is not None else None
            data = classification_columns(replies, stages, classifier=clf, prefix=prefix)
            arrays = []
            for name in order:
                if name in kinds:
                    arrays.append(pa.array(data[name], type=_arrow_type(kinds[name])))
                else:
                    arrays.append(batch.column(name))
            yield pa.RecordBatch.from_arrays(arrays, names=order)

    with quiet_pandas_warning():
        return df.mapInArrow(classify_batches, schema)
