"""Command line: ``python -m retention_lib {fetch,run,build,params}``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    from . import params as P

    ap = argparse.ArgumentParser(prog="python -m retention_lib",
                                 description="Fetch the data, run the notebooks, build the book.")
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="download, verify and unpack every pinned dataset and model (once)")
    r = sub.add_parser("run", help="execute the notebooks with papermill")
    r.add_argument("--profile", default="standard", choices=P.PROFILES)
    r.add_argument("--only", nargs="+", metavar="NB", help="notebook stems to run, e.g. 02_sentiment")
    r.add_argument("--set", dest="sets", action="append", metavar="NAME=VALUE",
                   help="override a parameter (repeatable)")
    r.add_argument("--force", action="store_true", help="run even if an identical run is cached")
    b = sub.add_parser("build", help="build the HTML book from the executed notebooks")
    b.add_argument("--profile", default="standard", choices=P.PROFILES)
    p = sub.add_parser("params", help="list the parameters of each notebook and their values")
    p.add_argument("--profile", default="standard", choices=P.PROFILES)
    args = ap.parse_args(argv)

    from . import assets, runner
    try:
        if args.command == "fetch":
            assets.fetch_all()
        elif args.command == "run":
            runner.run(args.profile, only=args.only, overrides=P.parse_assignments(args.sets),
                       force=args.force)
        elif args.command == "build":
            runner.build(args.profile)
        elif args.command == "params":
            for stem in P.notebooks():
                print(f"{stem}:")
                for name, prm in P.parameters(stem).items():
                    print(f"  {name} = {prm.values[args.profile]!r}  ({prm.allowed()}) {prm.help}")
    except (P.ParameterError, assets.AssetError, runner.RunError, runner.BuildError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
