"""How long the linked world takes to simulate, and how it scales with the number of customers.

Simulates a baseline world (100,000 customers by default) and a large one (1,000,000), each with
its purchases, reviews (real texts), offers and experiment, and reports seconds, customers per
second and the ratio of the large world's time to ten times the baseline's (1.0 = linear scaling),
measured in the same run. Appends a section to benchmarks/RESULTS.md (use --no-record to skip).

    .venv/bin/python benchmarks/world_scale.py
    .venv/bin/python benchmarks/world_scale.py --customers 20000 200000 --no-record
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, nargs=2, default=[100_000, 1_000_000], metavar=("BASELINE", "LARGE"))
    ap.add_argument("--repeats", type=int, default=2, help="runs of each size; the fastest counts")
    ap.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = ap.parse_args(argv)

    from retention_lib import data, world
    from retention_lib.machinery.session import machine, record_benchmark, timer

    pool = world.review_pool(data.load("reviews"))
    world.simulate(1000, seed=0, pool=pool)  # warm-up: imports and first calls
    rows = []
    for n in args.customers:
        best, size = float("inf"), None
        for r in range(args.repeats):
            with timer() as t:
                w = world.simulate(n, seed=r, pool=pool)
            best = min(best, t.seconds)
            size = (len(w.observed.purchases), len(w.observed.reviews))
            del w
        rows.append(
            {"customers": n, "purchases": size[0], "reviews": size[1], "seconds": best, "customers/s": n / best}
        )
    table = pd.DataFrame(rows)
    base, large = table.iloc[0], table.iloc[1]
    table["ratio vs linear from the baseline"] = table["seconds"] / (
        base["seconds"] * table["customers"] / base["customers"]
    )
    print(table.round(3).to_string(index=False))
    if not args.no_record:
        body = (
            f"Machine: {machine()}. Fastest of {args.repeats} runs per size; every world has its purchases, "
            f"reviews with real texts, offer outcomes under every arm and the experiment. The large world "
            f"({int(large['customers']):,} customers) took {large['seconds']:.1f} s.\n\n"
            + table.round(3).to_markdown(index=False)
        )
        out = record_benchmark(Path(__file__).with_name("RESULTS.md"), "world_scale.py", body)
        print(f"recorded in {out}")
    return table


if __name__ == "__main__":
    main()
