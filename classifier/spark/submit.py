"""The log job as a ``spark-submit`` application: the same arguments as ``spark-replay``.

ENTRY=$(python -c 'import classifier.spark.submit as m; print(m.__file__)')
spark-submit --master yarn "$ENTRY" /shared/logs/mail.log* --output /shared/out/p --final
"""

import sys

from classifier.cli import main

if __name__ == "__main__":
    sys.exit(main(["spark-replay", *sys.argv[1:]]))
