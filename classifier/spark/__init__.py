"""Classification on Apache Spark (PySpark 4, the ``spark`` extra).

* ``classify_column(df, "reply", stage="stage")``: the classification columns of
  ``classifier.frames`` added to a DataFrame, computed over Arrow batches, with the rules built
  once per Python worker process and the caller's rule directories shipped by broadcast.
* ``spark_replay(spark, inputs, output)``: the log job behind ``smtp-classifier spark-replay``;
  MTA logs (plain or gzip) to Parquet, the same rows as ``replay`` (and ``--final``).

Importing this package does not import PySpark; calling either function does.
"""

from __future__ import annotations

from .columns import classify_column, executor_classifier, rule_payload
from .job import DEFAULT_SPLIT_BYTES, LogRange, SparkReplayResult, plan_ranges, spark_replay

__all__ = [
    "DEFAULT_SPLIT_BYTES",
    "LogRange",
    "SparkReplayResult",
    "classify_column",
    "executor_classifier",
    "plan_ranges",
    "rule_payload",
    "spark_replay",
]
