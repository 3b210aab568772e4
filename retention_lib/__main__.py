"""Command line: ``python -m retention_lib {fetch,run,build,params}``."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from retention_lib.base import assets
from retention_lib.machinery import build, runner, workshop
from retention_lib.machinery import params as P
from retention_lib.privacy import pseudonyms
from retention_lib.privacy.pseudonyms import PseudonymKeyError


def _parser() -> argparse.ArgumentParser:
    """The command line's sub-commands and their options."""
    ap = argparse.ArgumentParser(
        prog="python -m retention_lib", description="Fetch the data, run the notebooks, build the book."
    )
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="download, verify and unpack every pinned dataset and model (once)")
    r = sub.add_parser("run", help="execute the notebooks with papermill")
    r.add_argument("--profile", default="standard", choices=P.PROFILES)
    r.add_argument("--only", nargs="+", metavar="NB", help="notebook stems to run, e.g. 02_sentiment")
    r.add_argument(
        "--set", dest="sets", action="append", metavar="NAME=VALUE", help="override a parameter (repeatable)"
    )
    r.add_argument("--force", action="store_true", help="run even if an identical run is cached")
    r.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="chapters run side by side (default 1; chapters that measure speed always run alone, but the "
        "timings on the other pages are then measured under load)",
    )
    b = sub.add_parser("build", help="build the HTML book from the executed notebooks")
    b.add_argument("--profile", default="standard", choices=P.PROFILES)
    p = sub.add_parser("params", help="list the parameters of each notebook and their values")
    p.add_argument("--profile", default="standard", choices=P.PROFILES)
    rp = sub.add_parser(
        "reproduce",
        help="run the executed notebooks again with nbval and compare each "
        "chapter's key outputs (cells tagged nbval-check-output)",
    )
    rp.add_argument("--profile", default="smoke", choices=P.PROFILES)
    rp.add_argument("--only", nargs="+", metavar="NB", help="notebook stems to check")
    rp.add_argument("--jobs", type=int, default=1, help="notebooks checked at once (default 1)")
    sub.add_parser(
        "workshop",
        help="run every chapter in the workshop profile and write the participants' folder (_build/workshop/kit)",
    )
    g = sub.add_parser("glued", help="the numbers each executed notebook glued into its prose")
    g.add_argument("--profile", default="standard", choices=P.PROFILES)
    g.add_argument("--save", metavar="FILE.json", help="write them to a JSON file")
    g.add_argument(
        "--compare",
        metavar="FILE.json",
        help="compare with a file written by --save (timings ignored); exit 1 on a difference",
    )
    _shop_parser(sub)
    k = sub.add_parser("keygen", help="write a random pseudonymisation key outside the repository (chapter 11)")
    k.add_argument("--path", help="where (default: ~/.config/retention-lib/pseudonym.key)")
    k.add_argument("--if-missing", action="store_true", help="do nothing when the key file exists")
    return ap


def _shop_parser(sub) -> None:
    s = sub.add_parser(
        "shop",
        help="run the book's method on your shop's files (chapter 12) into a report and a customer table",
        description="Chapter 12 on your files, through the same runner as the book: the report (HTML) and the "
        "customer table (keyed by pseudonyms) are written to --out. The column map (YAML) says which of your "
        "columns holds what; see the chapter 'Your shop'.",
    )
    s.add_argument("--purchases", required=True, metavar="FILE", help="purchases: CSV or parquet")
    s.add_argument("--reviews", required=True, metavar="FILE", help="reviews: CSV or parquet")
    s.add_argument("--columns", required=True, metavar="FILE.yaml", help="the column map")
    s.add_argument("--experiment", metavar="FILE", help="optional: who was drawn into which arm of an offer")
    s.add_argument("--out", default="shop_report", metavar="DIR", help="where the report goes (default shop_report)")
    s.add_argument("--profile", default="standard", choices=P.PROFILES, help="sizes of folds and resamples")
    s.add_argument("--set", dest="sets", action="append", metavar="NAME=VALUE", help="another parameter of chapter 12")


#: chapter 12, which the ``shop`` command runs
SHOP_CHAPTER = "12_your_shop"


def _shop(args) -> int:
    """Run chapter 12 on the user's files, then build its page and copy the customer table into ``--out``."""
    files = {"purchases_file": args.purchases, "reviews_file": args.reviews, "columns_file": args.columns}
    if args.experiment:
        files["experiment_file"] = args.experiment
    for name, given in files.items():
        if not Path(given).is_file():
            raise P.ParameterError(f"--{name.removesuffix('_file')}: no such file: {given}")
    overrides = P.parse_assignments(args.sets)
    clash = sorted(set(overrides) & {*files, "experiment_file"})
    if clash:
        raise P.ParameterError(f"--set {clash[0]}: give the files with --purchases, --reviews, --columns, --experiment")
    overrides.update({name: str(Path(path).resolve()) for name, path in files.items()})
    overrides.setdefault("experiment_file", "")
    # the user's files change without their names changing: always run (the cache keys on parameters)
    runner.run(args.profile, only=[SHOP_CHAPTER], overrides=overrides, force=True)
    out = Path(args.out).resolve()
    folder = runner.profile_dir(args.profile)
    page = build.report(folder / "notebooks" / f"{SHOP_CHAPTER}.ipynb", out / "report")
    values = P.resolve(args.profile, [SHOP_CHAPTER], overrides)[SHOP_CHAPTER]
    table = folder / "artifacts" / f"shop_customers.{values['table_format']}"
    shutil.copy2(table, out / table.name)
    print(f"report: {page}")
    print(f"customer table: {out / table.name}")
    print(
        f"(chapter 12 of the book in profile '{args.profile}' now shows your shop; the next `make book` "
        "runs it on the demo again)"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)

    try:
        if args.command == "fetch":
            assets.fetch_all()
        elif args.command == "run":
            runner.run(
                args.profile,
                only=args.only,
                overrides=P.parse_assignments(args.sets),
                force=args.force,
                jobs=args.jobs,
            )
        elif args.command == "build":
            build.build(args.profile)
        elif args.command == "params":
            for stem in P.notebooks():
                print(f"{stem}:")
                for name, prm in P.parameters(stem).items():
                    print(f"  {name} = {prm.values[args.profile]!r}  ({prm.allowed()}) {prm.help}")
        elif args.command == "glued":
            return _glued(args, runner)
        elif args.command == "workshop":
            runner.run(workshop.PROFILE)
            kit = workshop.write_kit(runner.profile_dir(workshop.PROFILE) / "kit", runner.project_root())
            print(f"participants' folder: {kit} (notebooks/ and SETUP.md); the instructor page is in the book")
        elif args.command == "keygen":
            path = Path(args.path).expanduser() if args.path else pseudonyms.default_key_file()
            if args.if_missing and path.exists():
                return 0
            print(f"wrote a new key to {pseudonyms.keygen(path, repo_root=runner.project_root())} (owner-only)")
        elif args.command == "shop":
            return _shop(args)
        elif args.command == "reproduce":
            proc = runner.reproduce(args.profile, only=args.only, jobs=args.jobs)
            print(proc.stdout[-8000:] + proc.stderr[-2000:])
            return 0 if proc.returncode == 0 else 1
    except (P.ParameterError, assets.AssetError, runner.RunError, runner.BuildError, PseudonymKeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _glued(args, runner) -> int:

    nb_dir = runner.profile_dir(args.profile) / "notebooks"
    values = {
        stem: runner.glued_values(nb_dir / f"{stem}.ipynb")
        for stem in P.notebooks()
        if (nb_dir / f"{stem}.ipynb").exists()
    }
    if args.save:
        Path(args.save).write_text(json.dumps(values, indent=1, sort_keys=True) + "\n")
        print(f"{sum(map(len, values.values()))} glued values of {len(values)} notebook(s) -> {args.save}")
    if args.compare:
        before = json.loads(Path(args.compare).read_text())
        diffs = runner.compare_glued(before, values)
        compared = sum(sum(not runner.is_timing(n, stem) for n in v) for stem, v in before.items())
        print(
            f"compared {compared} glued values (timings ignored: {', '.join(sorted(runner.TIMINGS))}, "
            f"every name with '_seconds' and each chapter's 'measured' names in profiles.yaml)"
        )
        print("\n".join(diffs) if diffs else "no difference")
        return 1 if diffs else 0
    if not args.save:
        for stem, v in values.items():
            for name, text in v.items():
                print(f"{stem}.{name} = {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
