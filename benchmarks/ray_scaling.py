"""Batch scoring with Ray Data: 1 against 2 single-thread workers, reviews/s, memory, identical outputs.

Loads chapter 02's model from a profile's artifacts, scores the same reviews in-process and with Ray
actor pools of each size (one model per worker, ``torch`` backend, one thread each), and reports
reviews/s (first batch to last, on the workers' clocks), the end-to-end time, the speed-up over one
worker measured in the same run, the largest difference from in-process scoring, and the resident
memory of a worker. Appends to benchmarks/RESULTS.md (use
--no-record to skip).

    .venv/bin/python benchmarks/ray_scaling.py --examples 2000
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="standard")
    ap.add_argument("--model", type=Path, help="a saved SentimentClassifier folder instead of the profile's")
    ap.add_argument("--examples", type=int, default=2000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--max-length", type=int, default=128, help="tokens read per review")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args(argv)

    from retention_lib import data, sentiment
    from retention_lib.machinery import runner
    from retention_lib.machinery.session import timer
    from retention_lib.serving import scale
    from retention_lib.serving.backends import score_reviews
    from retention_lib.serving.ray_scoring import score_with_ray

    model_dir = args.model or runner.profile_dir(args.profile) / "artifacts" / "sentiment_model"
    if not model_dir.exists():
        raise SystemExit(f"no chapter 02 model in {model_dir}: run chapter 02 first, or give --model")
    texts = (
        sentiment.make_dataset(data.load("reviews"), "3class")[0]["text"].sample(args.examples, random_state=0).tolist()
    )
    clf = sentiment.SentimentClassifier.load(model_dir, device="cpu")
    clf.max_length = args.max_length
    reference = score_reviews(texts, clf, "torch", args.batch_size, threads=1)
    rows, base = [], None
    scale.start_ray(num_cpus=max(args.workers))
    try:
        for n in args.workers:
            with timer() as t:
                p, stats = score_with_ray(
                    texts, model_dir, "torch", n, 1, args.batch_size, stats=True, max_length=args.max_length
                )
            rate = len(texts) / stats["busy_seconds"]
            base = base or rate
            rows.append(
                {
                    "workers (1 thread each)": n,
                    "reviews/s": rate,
                    "speed-up vs 1 worker": rate / base,
                    "end to end (s)": t.seconds,
                    "max |p - in-process|": float(np.abs(p - reference).max()),
                    "memory per worker (MiB)": stats["rss_mib"],
                }
            )
    finally:
        scale.stop_ray()
    table = pd.DataFrame(rows).round(
        {"reviews/s": 1, "speed-up vs 1 worker": 2, "end to end (s)": 1, "memory per worker (MiB)": 0}
    )
    print(table.to_string(index=False))
    if not args.no_record:
        from retention_lib.machinery.session import machine, record_benchmark

        out = record_benchmark(
            Path(__file__).with_name("RESULTS.md"),
            "ray_scaling.py",
            f"Machine: {machine()}. Model: chapter 02's ({args.profile} profile), reading up to "
            f"{clf.max_length} tokens, {len(texts)} reviews sorted by length, batch size "
            f"{args.batch_size}, Ray Data actor pools (fp32 torch backend) on a local Ray instance. "
            f"reviews/s counts from the first batch to the last; end to end includes starting the "
            f"workers and loading a model in each.\n\n" + table.to_markdown(index=False),
        )
        print(f"recorded in {out}")
    return table


if __name__ == "__main__":
    main()
