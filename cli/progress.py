"""A progress bar on stderr for one-shot commands (backfill, reprocess)."""

from __future__ import annotations

import sys


def progress(label: str, done: int, total: int) -> None:
    width = 30
    filled = width * done // total if total else width
    sys.stderr.write(f"\r{label:<20} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()
