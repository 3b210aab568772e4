"""Training and inference throughput of the sentiment model: padding, bucketing, bf16, batch size.

Every number is reported as a ratio against the naive setting (fp32, every review padded to 128
tokens, no bucketing) measured in the same run at the same batch size, so results from different
machines can be compared. Appends a section to benchmarks/RESULTS.md (use --no-record to skip).

    .venv/bin/python benchmarks/sentiment_speed.py                 # CPU or GPU, whatever is present
    .venv/bin/python benchmarks/sentiment_speed.py --examples 64 --batch-sizes 16 --no-record
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=256, help="reviews per measurement")
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 32, 64])
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    ap.add_argument("--cpu-bf16", action="store_true", help="also try bf16 autocast on the CPU")
    args = ap.parse_args(argv)

    import torch

    from retention_lib import data, sentiment

    df, _ = sentiment.make_dataset(data.load("reviews"))
    sample = df.sample(args.examples, random_state=0)
    texts, labels = sample["text"].tolist(), sample["label"].tolist()
    clf = sentiment.SentimentClassifier.from_pretrained(None, max_length=args.max_length, pooling="mean")
    cuda = clf.device.startswith("cuda")
    bf16 = (cuda and torch.cuda.is_bf16_supported()) or (not cuda and args.cpu_bf16)
    table = sentiment.speed_table(clf, texts, labels, args.batch_sizes, bf16=bf16).round(
        {"reviews/s": 1, "ratio vs naive": 2}
    )
    print(table.to_string(index=False))
    if not args.no_record:
        from retention_lib.machinery.session import machine, record_benchmark

        out = record_benchmark(
            Path(__file__).with_name("RESULTS.md"),
            "sentiment_speed.py",
            f"Machine: {machine()}. Device: {clf.device}. {args.examples} real reviews per measurement, max "
            f"length {args.max_length} tokens, all-MiniLM-L6-v2 with mean pooling.\n\n"
            + table.to_markdown(index=False),
        )
        print(f"recorded in {out}")
    return table


if __name__ == "__main__":
    main()
