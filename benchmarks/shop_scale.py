"""How long chapter 12's method takes on a large shop's own files, step by step, on this machine.

Writes two shops as a shop would export them (a linked world under other column names, day-first dates):
a baseline one and a large one (about 1,000,000 purchases and 100,000 reviews by default), then times each
step of chapter 12 on both: reading and checking the files (``shop.load_shop``), purchases to features
(``observed_sets``), the reviews' reading (the demo's texts are chapter 02's, so it is a look-up), and the
retention model (``retention_check``, cross-validated). New texts are scored by chapter 02's model at the rate
of chapter 10's backend: measured here on ``--new-texts`` texts chapter 02 never scored, and projected to the
large shop's reviews. Each step's time is printed with its ratio to linear scaling from the baseline,
measured in the same run. Appends a section to benchmarks/RESULTS.md (use --no-record to skip).

Needs the standard profile's chapters 02 and 05 (``make book``).

    .venv/bin/python benchmarks/shop_scale.py
    .venv/bin/python benchmarks/shop_scale.py --customers 20000 100000 --no-record
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd


def _shop(n: int, reviews_wanted: int, folder: Path, pool):
    """A world of ``n`` customers written as a shop's files, its reviews cut to ``reviews_wanted`` rows."""
    from retention_lib import world
    from retention_lib.shop import export_demo_shop

    w = world.simulate(n, seed=0, pool=pool)
    files = export_demo_shop(w, folder)
    reviews = pd.read_csv(files["reviews"], dtype=str, keep_default_na=False)
    reviews.iloc[:reviews_wanted].to_csv(files["reviews"], index=False)
    return w, files


def _steps(w, files, scores, reviews, folds: int) -> dict:
    from retention_lib.machinery.session import timer
    from retention_lib.profiles import text_value as tv
    from retention_lib.shop import load_shop
    from retention_lib.shop import method as M

    out = {}
    with timer() as t:
        obs = load_shop(
            files["purchases"],
            files["reviews"],
            files["columns"],
            files["experiment"],
            cutoff=w.observed.cutoff,
            holdout_weeks=w.config.holdout_weeks,
        )
    out["read and check the files"] = t.seconds
    with timer() as t:
        reading, _ = M.read_reviews(obs.reviews["text"], "lm", reviews, scores, None, log=lambda m: None)
    out["read the reviews (look-up)"] = t.seconds
    with timer() as t:
        tv.observed_sets(obs, {"reviews": reading}, customers=tv.no_offer_customers(obs))
    out["purchases and reviews to features"] = t.seconds
    with timer() as t:
        M.retention_check(obs, reading, folds, 0, 50)
    out[f"retention model ({folds}-fold, with and without reviews)"] = t.seconds
    return {"purchases": len(obs.purchases), "reviews": len(obs.reviews), **out}


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, nargs=2, default=[37_000, 370_000], metavar=("BASELINE", "LARGE"))
    ap.add_argument("--reviews", type=int, nargs=2, default=[10_000, 100_000], metavar=("BASELINE", "LARGE"))
    ap.add_argument("--new-texts", type=int, default=512, help="texts never scored, read by the model")
    ap.add_argument(
        "--backends",
        nargs="+",
        default=["torch", "onnx-int8"],
        help="chapter 10's backends for new texts (torch: exact; onnx-int8: its fastest)",
    )
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    args = ap.parse_args(argv)

    from retention_lib import data, world
    from retention_lib.machinery import runner
    from retention_lib.machinery.session import machine, record_benchmark, timer
    from retention_lib.sentiment import SentimentClassifier, review_texts
    from retention_lib.serving.backends import score_reviews
    from retention_lib.shop import method as M

    art = runner.profile_dir("standard") / "artifacts"
    reviews, scores = data.load("reviews"), pd.read_parquet(art / "review_scores.parquet")
    pool = world.review_pool(reviews, scores)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size, n, r in zip(["baseline", "large"], args.customers, args.reviews):
            w, files = _shop(n, r, Path(tmp) / size, pool)
            rows[size] = _steps(w, files, scores, reviews, args.folds)
            del w
    table = pd.DataFrame(rows).T
    steps = [c for c in table.columns if c not in ("purchases", "reviews")]
    scale = table.loc["large", "purchases"] / table.loc["baseline", "purchases"]
    ratio = (table.loc["large", steps] / (table.loc["baseline", steps] * scale)).rename("ratio vs linear")

    # new texts: chapter 02's model through each backend, inside read_reviews (which loads the model once: included)
    # and alone (the same run); the load is timed apart, for the reader to judge
    texts = [t + " (new)" for t in review_texts(reviews).dropna().sample(args.new_texts, random_state=0)]
    with timer() as load:
        clf = SentimentClassifier.load(art / "sentiment_model", device=None)
    reading_rows = []
    for backend in args.backends:
        score_reviews(texts[:32], clf, backend)  # warm-up (and the one-off export or quantisation)
        with timer() as alone:
            score_reviews(texts, clf, backend)
        with timer() as inside:
            M.read_reviews(texts, "lm", reviews, scores, art / "sentiment_model", backend=backend, log=lambda m: None)
        rate = len(texts) / inside.seconds  # its one model load included (measured apart as "model load")
        reading_rows.append(
            {
                "backend": backend,
                "reviews/s alone": len(texts) / alone.seconds,
                "reviews/s in read_reviews": rate,
                "ratio (in / alone)": rate * alone.seconds / len(texts),
                f"minutes for {int(table.loc['large', 'reviews']):,} new reviews": table.loc["large", "reviews"]
                / rate
                / 60,
            }
        )
    reading = pd.DataFrame(reading_rows).set_index("backend")
    print(table.round(2).to_string())
    print(ratio.round(2).to_string())
    print(f"model load {load.seconds:.1f} s (once per run)")
    print(reading.round(2).to_string())
    if not args.no_record:
        shown = table.copy()
        shown.loc["ratio vs linear"] = [float("nan"), float("nan")] + ratio.tolist()
        body = (
            f"Machine: {machine()}. Seconds of each step of chapter 12 on two shops written as CSV files (a linked "
            f"world of {args.customers[0]:,} and of {args.customers[1]:,} customers, reviews cut to "
            f"{args.reviews[0]:,} and {args.reviews[1]:,}); the last row is the large shop's time over the "
            f"baseline's times the ratio of purchases (1.0 = linear). The demo's texts are chapter 02's, so "
            f"reading them is a look-up. New texts ({args.new_texts} never scored) are read by chapter 02's model "
            f"through chapter 10's backends, alone and inside `read_reviews` (which includes its one model load, "
            f"{load.seconds:.1f} s when timed apart); the last column projects the large shop's reviews at that rate.\n\n"
            + shown.round(2).to_markdown()
            + "\n\n"
            + reading.round(2).to_markdown()
        )
        out = record_benchmark(Path(__file__).with_name("RESULTS.md"), "shop_scale.py", body)
        print(f"recorded in {out}")
    return table


if __name__ == "__main__":
    main()
