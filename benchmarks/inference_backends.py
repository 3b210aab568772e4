"""Inference backends of the fine-tuned sentiment model: speed and macro-F1 against naive fp32, in one run.

Loads chapter 02's model from a profile's artifacts (run the chapter first), scores the reviews of
its test split with every backend of ``retention_lib.sentiment.backends`` at each thread count, and
reports reviews/s, the ratio against the naive setting (fp32, every batch padded to the model's
maximum length) measured in the same run with the same threads, the macro-F1 on the test labels and
its difference from fp32's, and the largest difference in probability. Appends a section to
benchmarks/RESULTS.md (use --no-record to skip).

    .venv/bin/python benchmarks/inference_backends.py                       # standard profile's model
    .venv/bin/python benchmarks/inference_backends.py --profile smoke --examples 200 --no-record
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="standard", help="whose chapter 02 model to load")
    ap.add_argument("--model", type=Path, help="a saved SentimentClassifier folder instead of the profile's")
    ap.add_argument("--examples", type=int, default=0, help="test reviews scored (0 = the whole test split)")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = ap.parse_args(argv)

    from sklearn.metrics import f1_score

    from retention_lib import data, runner, sentiment
    from retention_lib.sentiment.backends import BACKENDS, score_reviews

    art = runner.profile_dir(args.profile) / "artifacts"
    model_dir, scores_file = args.model or art / "sentiment_model", art / "review_scores.parquet"
    if not model_dir.exists():
        raise SystemExit(f"no chapter 02 model in {model_dir}: run `python -m retention_lib run --profile "
                         f"{args.profile} --only 02_sentiment` first, or give --model")
    clf = sentiment.SentimentClassifier.load(model_dir, device="cpu")
    labelled, _ = sentiment.make_dataset(data.load("reviews"), "3class")
    if args.model is None and scores_file.exists():      # the chapter's own test split
        scores = pd.read_parquet(scores_file)
        test = labelled.loc[labelled.index.intersection(scores.index[scores["split"] == "test"])]
    else:                                                 # the split chapter 02 makes with seed 0
        test = sentiment.split(labelled, seed=0)["test"]
    if args.examples:
        test = test.sample(min(args.examples, len(test)), random_state=0)
    texts, y = test["text"].tolist(), test["label"].to_numpy()
    rows, reference = [], None
    for threads in args.threads:
        base = None
        for backend in BACKENDS:
            score_reviews(texts[:2 * args.batch_size], clf, backend, args.batch_size, threads)   # build, warm up
            t0 = time.perf_counter()
            p = score_reviews(texts, clf, backend, args.batch_size, threads)
            rate = len(texts) / (time.perf_counter() - t0)
            base = base or rate
            reference = p if reference is None else reference
            f1 = f1_score(y, p.argmax(axis=1), average="macro")
            rows.append({"threads": threads, "backend": backend, "reviews/s": rate, "ratio vs naive": rate / base,
                         "macro-F1": f1, "max |p - fp32|": float(np.abs(p - reference).max())})
    table = pd.DataFrame(rows)
    f1_fp32 = table.loc[table["backend"] == "naive", "macro-F1"].iloc[0]
    table["F1 - fp32"] = table["macro-F1"] - f1_fp32
    table = table.round({"reviews/s": 1, "ratio vs naive": 2, "macro-F1": 4, "F1 - fp32": 4, "max |p - fp32|": 5})
    print(table.to_string(index=False))
    if not args.no_record:
        from retention_lib.session import machine, record_benchmark

        out = record_benchmark(
            Path(__file__).with_name("RESULTS.md"), "inference_backends.py",
            f"Machine: {machine()}. Model: chapter 02's fine-tuned all-MiniLM-L6-v2 ({args.profile} profile, max "
            f"length {clf.max_length} tokens), {len(texts)} test reviews, batch size {args.batch_size}. Ratios are "
            f"against naive fp32 (padded to the maximum length) at the same thread count, in the same run.\n\n"
            + table.to_markdown(index=False))
        print(f"recorded in {out}")
    return table


if __name__ == "__main__":
    main()
