"""Inference backends of the fine-tuned sentiment model: speed and macro-F1 against naive fp32, in one run.

Loads chapter 02's model from a profile's artifacts (run the chapter first), times every backend of
``retention_lib.serving.backends`` at each thread count on test reviews (``retention_lib.serving.cost.
backend_speed``: reviews/s, the ratio against naive fp32 padded to the maximum length, measured in the
same run with the same threads, and the largest difference in probability), and measures each
backend's macro-F1 on the test labels with a paired interval against fp32 (``backend_accuracy``).
Chapter 10 makes the same measurements. Appends a section to benchmarks/RESULTS.md (use --no-record
to skip).

    .venv/bin/python benchmarks/inference_backends.py                       # standard profile's model
    .venv/bin/python benchmarks/inference_backends.py --profile smoke --examples 200 --no-record
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="standard", help="whose chapter 02 model to load")
    ap.add_argument("--model", type=Path, help="a saved SentimentClassifier folder instead of the profile's")
    ap.add_argument("--examples", type=int, default=1000, help="test reviews timed (0 = the whole test split)")
    ap.add_argument("--accuracy-examples", type=int, default=0, help="test reviews for macro-F1 (0 = the whole split)")
    ap.add_argument("--max-length", type=int, default=128, help="tokens read per review (naive pads to it)")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = ap.parse_args(argv)

    from retention_lib import data, sentiment
    from retention_lib.machinery import runner
    from retention_lib.serving import cost

    art = runner.profile_dir(args.profile) / "artifacts"
    model_dir, scores_file = args.model or art / "sentiment_model", art / "review_scores.parquet"
    if not model_dir.exists():
        raise SystemExit(
            f"no chapter 02 model in {model_dir}: run `python -m retention_lib run --profile "
            f"{args.profile} --only 02_sentiment` first, or give --model"
        )
    clf = sentiment.SentimentClassifier.load(model_dir, device="cpu")
    trained_length, clf.max_length = clf.max_length, args.max_length
    labelled, _ = sentiment.make_dataset(data.load("reviews"), "3class")
    if args.model is None and scores_file.exists():  # the chapter's own test split
        test = cost.saved_split(labelled, pd.read_parquet(scores_file), "test", args.accuracy_examples, seed=0)
    else:  # the split chapter 02 makes with seed 0
        test = sentiment.split(labelled, seed=0)["test"]
        test = test.sample(min(args.accuracy_examples, len(test)), random_state=0) if args.accuracy_examples else test
    texts, y = test["text"].tolist(), test["label"].to_numpy()
    timed = texts[: args.examples] if args.examples else texts
    speed, _ = cost.backend_speed(timed, clf, threads=args.threads, batch_size=args.batch_size, log=print)
    exact = speed[speed["tolerance"].notna() & (speed["threads"] == args.threads[-1])]
    reference = exact.loc[exact["reviews/s"].idxmax(), "backend"]
    accuracy, _ = cost.backend_accuracy(
        texts, y, clf, reference=reference, batch_size=args.batch_size, threads=args.threads[-1]
    )
    table = speed.merge(accuracy.drop(columns="how"), on="backend")
    table = table.round(
        {
            "reviews/s": 1,
            "ratio vs naive": 2,
            "macro-F1": 4,
            "F1 - fp32": 4,
            "low": 4,
            "high": 4,
            "max |p - fp32|": 5,
            "first call (s)": 1,
        }
    )
    print(table.to_string(index=False))
    if not args.no_record:
        from retention_lib.machinery.session import machine, record_benchmark

        out = record_benchmark(
            Path(__file__).with_name("RESULTS.md"),
            "inference_backends.py",
            f"Machine: {machine()}. Model: chapter 02's fine-tuned all-MiniLM-L6-v2 ({args.profile} profile, trained "
            f"on {trained_length} tokens), reading up to {args.max_length} tokens; {len(timed)} test reviews timed, "
            f"batch size {args.batch_size}; macro-F1 on {len(texts)} test reviews, with a paired bootstrap 95 % "
            f"interval (low, high) of the difference from fp32 (scored with the exact {reference} backend). Ratios are "
            f"against naive fp32 (padded to the maximum length) at the same thread count, in the same run.\n\n"
            + table.to_markdown(index=False),
        )
        print(f"recorded in {out}")
    return table


if __name__ == "__main__":
    main()
