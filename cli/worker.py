"""`gather-sync worker`: the Faust worker (`streams.app`) as a command of our own.

Faust's own command line (`python -m faust -A streams.app worker`) is what this runs, with the
app handed over directly and the worker's web server off (metrics and health are served by our
own endpoint, METRICS_PORT). Settings come from the environment: WORKER_*, KAFKA_*.
"""

from __future__ import annotations

import argparse
import sys


def worker(args: argparse.Namespace) -> int:
    from streams.app import worker as build  # Faust and the app load for this command only

    app = build().app
    sys.argv = ["gather-sync worker", "worker", "-l", args.loglevel, "--without-web"]
    app.main()  # Faust's click command line; returns only by raising SystemExit
    return 0
