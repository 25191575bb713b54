"""Command line: `python -m shisn COMMAND ...` (thin over the same functions the app uses).

  demo      --db PATH [--seed N]                 write the synthetic demo data set
  load      FILE... --db PATH [--user NAME]      validate and load self-assessment files (all or nothing)
  template  --format csv|xlsx [--output FILE]    write the blank template (stdout for csv if no --output)

Exit codes: 0 success; 2 invalid input (errors on stderr, database unchanged); 1 anything else.
"""
from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

COMMANDS = {}


def command(fn):
    COMMANDS[fn.__name__.removeprefix("cmd_")] = fn
    return fn


def _db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", help="DuckDB file (default: $SHISN_DB or data/shisn.duckdb)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m shisn", description="State Homeland Security Information "
                                     "Sharing Network: data store and tools.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="write the synthetic demo data set")
    _db_arg(p)
    p.add_argument("--seed", type=int, default=2004, help="random seed (same seed, same data)")
    p = sub.add_parser("load", help="validate and load self-assessment CSV/XLSX files")
    p.add_argument("files", nargs="+", metavar="FILE")
    _db_arg(p)
    p.add_argument("--user", default=None, help="who is loading (recorded in the load log)")
    p = sub.add_parser("template", help="write the blank self-assessment template")
    p.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    p.add_argument("--output", "-o", help="file to write (default: stdout for csv, "
                                          "shisn-self-assessment-template.xlsx for xlsx)")
    return parser


@command
def cmd_demo(args) -> int:
    from . import db, demo
    con = db.connect(args.db)
    s = demo.write_demo(con, seed=args.seed)
    print(f"wrote SYNTHETIC demo data to {db.db_path(args.db)}: {s.rows} rows, {len(s.states)} jurisdictions, "
          f"cycles {', '.join(map(str, s.cycles))}")
    return 0


@command
def cmd_load(args) -> int:
    from . import db
    from .ingest import LoadError, load
    files = []
    for f in args.files:
        path = Path(f)
        if not path.is_file():
            print(f"{f}: no such file", file=sys.stderr)
            return 2
        files.append((path.name, path.read_bytes()))
    con = db.connect(args.db)
    user = args.user or f"cli:{getpass.getuser()}"
    try:
        summaries = load(con, files, user)
    except LoadError as e:
        for w in e.warnings:
            print(f"warning: {w}", file=sys.stderr)
        print(e.report(), file=sys.stderr)
        return 2
    for s in summaries:
        for w in s.warnings:
            print(f"warning: {s.file_name}: {w}", file=sys.stderr)
        print(s.line())
    return 0


@command
def cmd_template(args) -> int:
    from .template import template_bytes
    data = template_bytes(args.format)
    if args.output:
        Path(args.output).write_bytes(data)
        print(f"wrote {args.output}", file=sys.stderr)
    elif args.format == "csv":
        sys.stdout.write(data.decode("utf-8"))
    else:
        out = Path("shisn-self-assessment-template.xlsx")
        out.write_bytes(data)
        print(f"wrote {out}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
