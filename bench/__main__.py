"""`make bench`: run every benchmark module of this folder (or those named) in turn."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench

NOT_BENCHMARKS = {"machine"}


def main(names: list[str]) -> int:
    available = sorted(
        m.name
        for m in pkgutil.iter_modules(bench.__path__)
        if m.name not in NOT_BENCHMARKS and not m.name.startswith("_")
    )
    unknown = set(names) - set(available)
    if unknown:
        print(f"unknown benchmark(s) {sorted(unknown)}; available: {available}", file=sys.stderr)
        return 2
    for name in names or available:
        importlib.import_module(f"bench.{name}").main()
    return 0


raise SystemExit(main(sys.argv[1:]))
