"""Per-customer profiles for a large world: pandas in one process against Ray with 1 and 2 workers.

Simulates chapter 5's world with many customers (1,000,000 by default), reads its reviews with chapter
02's saved scores, and times the behaviour and text features of every customer three ways with
``retention_lib.serving.scale.profile_timings`` (which checks that Ray's profiles equal pandas'). Chapter 10
does the same at the profile's size. Appends a section to benchmarks/RESULTS.md (use --no-record).

    .venv/bin/python benchmarks/profile_scale.py
    .venv/bin/python benchmarks/profile_scale.py --customers 100000 --no-record
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="standard", help="whose chapter 02 scores to read the reviews with")
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args(argv)

    from retention_lib import data, world
    from retention_lib.machinery import runner
    from retention_lib.machinery.session import machine, record_benchmark, timer
    from retention_lib.profiles import user_profiles as up
    from retention_lib.serving import scale

    scores_file = runner.profile_dir(args.profile) / "artifacts" / "review_scores.parquet"
    if not scores_file.exists():
        raise SystemExit(f"no chapter 02 scores in {scores_file}: run chapter 02 in profile {args.profile} first")
    reviews, scores = data.load("reviews"), pd.read_parquet(scores_file)
    with timer() as t:
        w = world.simulate(args.customers, args.seed, pool=world.review_pool(reviews, scores))
    obs = w.observed
    proba = up.score_texts(obs.reviews["text"], up.sentiment_lookup(reviews, scores))
    try:
        table, profiles = scale.profile_timings(obs, proba, workers=args.workers)
    finally:
        scale.stop_ray()
    print(table.round(3).to_string(index=False))
    if not args.no_record:
        out = record_benchmark(
            Path(__file__).with_name("RESULTS.md"),
            "profile_scale.py",
            f"Machine: {machine()}. A world of {args.customers:,} customers ({len(obs.purchases):,} purchases, "
            f"{len(obs.reviews):,} reviews; simulated in {t.seconds:.1f} s); {len(profiles):,} profiles of "
            f"{profiles.shape[1]} columns, Ray's equal to pandas'. Ray tasks of one CPU on a local Ray instance, "
            f"{4 * args.workers} shards for {args.workers} workers.\n\n" + table.round(3).to_markdown(index=False),
        )
        print(f"recorded in {out}")
    return table


if __name__ == "__main__":
    main()
