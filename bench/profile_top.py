"""The top frames of a py-spy raw profile, by self time and by inclusive time.

    .venv/bin/python -m bench.profile_top .local/bench/profiles/backfill-<time>.txt [-n 10]

A raw profile (`py-spy record --format raw`) has one line per distinct stack: the frames from
the outermost to the innermost, `;`-separated, then the number of samples that stack was seen
in. A frame's self time is the samples where it is the innermost frame (where the CPU was);
its inclusive time is the samples where it is anywhere on the stack (counted once per sample,
so recursion does not count twice). Frames are merged across line numbers unless `--lines`.
The same file loads in https://www.speedscope.app (collapsed stacks) for a flame graph.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_LINE = re.compile(r":\d+\)$")
_IMPORT = "<frozen importlib._bootstrap"


@dataclass(frozen=True)
class Frame:
    name: str
    samples: int
    share: float  # of all samples


@dataclass(frozen=True)
class Top:
    samples: int
    self_time: list[Frame]
    inclusive: list[Frame]


def parse(lines: Iterable[str], lines_apart: bool = False) -> Counter[tuple[str, ...]]:
    """Raw profile lines -> samples per stack (outermost frame first)."""
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in lines:
        text, _, count = line.rstrip("\n").rpartition(" ")
        if not text or not count.isdigit():
            continue  # a blank or torn last line
        frames = text.split(";")
        if not lines_apart:
            frames = [_LINE.sub(")", f) for f in frames]
        stacks[tuple(frames)] += int(count)
    return stacks


def without_imports(stacks: Counter[tuple[str, ...]]) -> Counter[tuple[str, ...]]:
    """The stacks that do not pass through the import machinery: a short run's profile is
    mostly its start-up (importing pydantic, Faust, SQLAlchemy) otherwise."""
    return Counter(
        {frames: n for frames, n in stacks.items() if not any(_IMPORT in f for f in frames)}
    )


def top(stacks: Counter[tuple[str, ...]], n: int = 10) -> Top:
    """The n frames with the most self samples and the n with the most inclusive samples."""
    total = sum(stacks.values())
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    for stack, samples in stacks.items():
        own[stack[-1]] += samples
        for frame in set(stack):
            anywhere[frame] += samples

    def frames(counts: Counter[str]) -> list[Frame]:
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))  # ties by name
        return [Frame(name, s, s / total) for name, s in ranked[:n]]

    return Top(total, frames(own), frames(anywhere))


def render(result: Top, title: str) -> str:
    """Two markdown tables (docs/benchmarks.md keeps them)."""
    out = [f"{title}: {result.samples:,} samples", ""]
    for label, rows in (("self", result.self_time), ("inclusive", result.inclusive)):
        out += [f"| {label} % | samples | frame |", "| ---: | ---: | --- |"]
        out += [f"| {f.share:.1%} | {f.samples:,} | `{f.name}` |" for f in rows]
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=Path, help="a py-spy raw profile")
    parser.add_argument("-n", type=int, default=10, help="frames per table (10)")
    parser.add_argument("--lines", action="store_true", help="keep frames apart by line")
    parser.add_argument(
        "--no-imports", action="store_true", help="leave out the stacks of imports (start-up)"
    )
    args = parser.parse_args(argv)
    with args.profile.open(encoding="utf-8", errors="replace") as lines:
        stacks = parse(lines, args.lines)
    if args.no_imports:
        stacks = without_imports(stacks)
    if not stacks:
        print(f"{args.profile}: no samples", file=sys.stderr)
        return 1
    print(render(top(stacks, args.n), str(args.profile)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
