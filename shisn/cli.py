"""Command line: `python -m shisn COMMAND ...` (thin over the same functions the app uses).

  demo      --db PATH [--seed N]                 write the synthetic demo data set
  load      FILE... --db PATH [--user NAME]      validate and load self-assessment files (all or nothing)
  template  --format csv|xlsx [--output FILE]    write the blank template (stdout for csv if no --output)
  pairings  --db PATH [--cycle YEAR] [--capacity N] [--format csv|json] [--candidates FILE]
  referrals --db PATH [--cycle YEAR] [--format csv|json]
  capacity  --db PATH [--cycle YEAR] [--capacity N] [--areas] [--format csv|json]   capacity planning: per mentor
            state at capacity, what one more slot would serve (or, --areas, per program area: needs unmet for
            lack of capacity and needs no offer can meet); see shisn/domain/capacity.py
  users     add EMAIL --role leadership|program_manager|state [--state VA] | remove EMAIL | list   (--db PATH)
  exchanges --db PATH [--format csv|json]          every facilitated exchange (id, states, areas, status, ...)
  exchanges load FILE --db PATH [--user NAME]     import exchanges recorded elsewhere (CSV: mentor, mentee,
            program_area, cycle, status, held_on[, first_contact_on, means, notes, decline_reason]; all or nothing;
            rows already in the store are skipped; see shisn/services/exchange_import.py)
  managers  load FILE --db PATH [--user NAME]     load program-manager assignments (state,name,email)
  offers    load FILE --db PATH [--user NAME] | export --db PATH [--format csv|json]   states' offers as a CSV
            (state, program_area, title, covers, formats, capacity[, lead_time_days, prepare, status]): loaded all
            or nothing, rows matched by state, area and title (added, changed or unchanged); see
            shisn/services/offer_file.py
  practices load FILE --db PATH [--user NAME] | export --db PATH [--format csv|json]   the practices library as a
            CSV (state, program_area, title, summary[, what_worked, differently, documents, exchange_id, status])
  cycles    list [--format csv|json] | open YEAR --due DATE | close YEAR   (--db PATH [--user NAME])
            reporting cycles: list them (status, due date, how many reported, which is the default), open one for
            reporting with a due date, close one (the pages then default to it)
  impact    --db PATH [--cycle YEAR] [--format csv|json]   did the network help? The Impact page's comparison as
            leadership sees it: one row per area slug and one for `all` (area, mentee_states, baseline_states,
            compared, mentee_change, baseline_change, difference, low, high, verdict, awaiting); --cycle: as known
            when YEAR was reported (the cycle report's figures)
  queue     --db PATH --user EMAIL [--format csv|json]   what needs this user's action (the Work queue page)
  submissions --db PATH [--status STATUS] [--format csv|json]   self-assessments filled in on the form
            (STATUS: draft, submitted, accepted, returned)
  copy      --from SRC --to DST [--replace]       every table of one store into another (DuckDB file or
            postgresql:// URL, either way; all or nothing; a target holding data is refused without --replace);
            prints one line per table once its rows and checksum are verified in the target
  backup    --db PATH --output FILE               the whole store as one portable archive (Parquet per table and a
            manifest: schema version, row counts, checksums; see shisn/store/archive.py)
  restore   FILE --db PATH [--replace]            fill an empty store (either engine) from an archive; an older
            schema's archive is upgraded on the way; a damaged archive is refused and nothing is written
  check     --db PATH                             integrity (shisn/store/integrity.py): one line per problem and exit 1,
            or exit 0 when clean
  notify    send [--every SECONDS] [--limit N] | digest [--force] | list [--status S] [--format csv|json] | retry
            (--db PATH)   e-mail notifications (shisn/services/notify.py, shisn/services/mailer.py): deliver the outbox through
            SHISN_SMTP_URL (and build the daily digest when it is due), build today's digest now, show the outbox,
            put failed notifications back in line

--db PATH is a DuckDB file or a postgresql://user@host:port/dbname URL (default: $SHISN_DB, else data/shisn.duckdb).
Every command works while the app serves the same store: on a DuckDB file it waits (SHISN_DB_LOCK_WAIT seconds,
default 30) for the app to let go of the file between requests.

Exit codes: 0 success; 2 invalid input or the store busy/unreachable (one line on stderr, database unchanged);
1 anything else (`check`: problems found).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from shisn import demo
from shisn.domain import auth, capacity, pairing
from shisn.render.template import template_bytes
from shisn.services import (
    assignments,
    daily_digest,
    exchange_export,
    exchange_import,
    impact,
    mailer,
    notify,
    offer_file,
    offers,
    queue,
    submissions,
)
from shisn.store import accounts, archive, db, integrity, queries, reporting_cycles
from shisn.store.ingest import LoadError, load

COMMANDS = {}


def command(fn):
    COMMANDS[fn.__name__.removeprefix("cmd_")] = fn
    return fn


def _db_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        help="the store: a DuckDB file or a postgresql://user@host:port/dbname URL "
        "(default: $SHISN_DB or data/shisn.duckdb)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m shisn", description="State Homeland Security Information Sharing Network: data store and tools."
    )
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
    p.add_argument(
        "--output", "-o", help="file to write (default: stdout for csv, shisn-self-assessment-template.xlsx for xlsx)"
    )
    p = sub.add_parser("pairings", help="suggest optimal mentor → mentee pairs for a cycle")
    _db_arg(p)
    p.add_argument("--cycle", type=int, help="assessment year (default: the latest)")
    p.add_argument("--capacity", type=int, default=None, help="needs one mentor state takes at most (default 3)")
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument(
        "--candidates",
        metavar="FILE",
        help="also write every candidate edge (mentor,mentee,program_area,score) to FILE as CSV",
    )
    p = sub.add_parser("referrals", help="needs no mentor can take: referrals to the TA program")
    _db_arg(p)
    p.add_argument("--cycle", type=int, help="assessment year (default: the latest)")
    p.add_argument("--capacity", type=int, default=None, help="needs one mentor state takes at most (default 3)")
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p = sub.add_parser(
        "capacity",
        help="capacity planning: what one more slot for each mentor state at capacity "
        "would serve, exactly (the pairing solved again); --areas: per program area",
    )
    _db_arg(p)
    p.add_argument("--cycle", type=int, help="assessment year (default: the latest)")
    p.add_argument("--capacity", type=int, default=None, help="needs one mentor state takes at most (default 3)")
    p.add_argument(
        "--areas",
        action="store_true",
        help="one row per program area (needs served, unmet for lack of "
        "capacity, with no possible mentor) instead of per state",
    )
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p = sub.add_parser(
        "exchanges",
        help="every facilitated exchange: id, mentor, mentee, areas, status, dates; "
        "or `exchanges load FILE`: import exchanges recorded elsewhere",
    )
    p.add_argument(
        "action",
        nargs="?",
        choices=["load"],
        help="load: validate an exchanges CSV (mentor, mentee, "
        "program_area, cycle, status, held_on, ...) and import it (all or nothing); without it: export",
    )
    p.add_argument("file", nargs="?", metavar="FILE", help="the CSV to load")
    _db_arg(p)
    p.add_argument("--format", choices=["csv", "json"], default="csv", help="export format")
    p.add_argument("--user", default=None, help="who is loading (recorded in each exchange's history)")
    p = sub.add_parser("cycles", help="reporting cycles: list, open one for reporting with a due date, close one")
    cyc = p.add_subparsers(dest="cycles_command", required=True)
    q = cyc.add_parser("list", help="every cycle: status, due date, jurisdictions reported, the default")
    _db_arg(q)
    q.add_argument("--format", choices=["csv", "json"], default="csv")
    q = cyc.add_parser("open", help="open YEAR for reporting, due --due DATE (again: moves the due date)")
    q.add_argument("year", type=int, metavar="YEAR")
    q.add_argument("--due", required=True, metavar="DATE", help="the due date, YYYY-MM-DD")
    _db_arg(q)
    q.add_argument("--user", default=None, help="who opens it (recorded in the audit log)")
    q = cyc.add_parser("close", help="close YEAR: the pages default to the latest closed cycle")
    q.add_argument("year", type=int, metavar="YEAR")
    _db_arg(q)
    q.add_argument("--user", default=None, help="who closes it (recorded in the audit log)")
    p = sub.add_parser(
        "impact",
        help="did the network help? The mentees' rating change against like-for-like "
        "states without an exchange, per area and over all areas (as leadership)",
    )
    _db_arg(p)
    p.add_argument(
        "--cycle",
        type=int,
        help="the figures as known when this cycle was reported (the cycle "
        "report's); default: every cycle (the Impact page's)",
    )
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p = sub.add_parser(
        "submissions",
        help="self-assessments filled in on the form: id, state, cycle, status, "
        "who submitted and reviewed, the return comment, the load",
    )
    _db_arg(p)
    p.add_argument(
        "--status",
        choices=["draft", "submitted", "accepted", "returned"],
        help="only submissions in this status (default: all)",
    )
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p = sub.add_parser("managers", help="program-manager assignments")
    p.add_argument(
        "action", choices=["load"], help="load: validate a CSV (state,name,email) and write it (all or nothing)"
    )
    p.add_argument("file", metavar="FILE")
    _db_arg(p)
    p.add_argument("--user", default=None, help="who is loading (recorded in the change log)")
    for name, what in (("offers", "states' offers"), ("practices", "the practices library")):
        p = sub.add_parser(name, help=f"{what} as a CSV file: load one (all or nothing) or export them")
        files = p.add_subparsers(dest="file_command", required=True)
        q = files.add_parser(
            "load",
            help=f"validate a {name} CSV and write it (all or nothing; rows matched by state, program area and "
            "title are changed or left as they are)",
        )
        q.add_argument("file", metavar="FILE", help="the CSV to load")
        _db_arg(q)
        q.add_argument("--user", default=None, help="who is loading (recorded in the history and the audit log)")
        q = files.add_parser("export", help=f"every one of the {name}, in the columns the load reads")
        _db_arg(q)
        q.add_argument("--format", choices=["csv", "json"], default="csv")
    p = sub.add_parser("queue", help="what needs a program manager's or leadership's action, oldest first")
    _db_arg(p)
    p.add_argument(
        "--user",
        required=True,
        metavar="EMAIL",
        help="whose queue: an email in the users table (a program manager or ODP leadership)",
    )
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p = sub.add_parser("users", help="manage who may sign in and with which role")
    users_sub = p.add_subparsers(dest="users_command", required=True)
    q = users_sub.add_parser("add", help="add a user or change their role")
    q.add_argument("email")
    q.add_argument("--role", required=True, choices=["leadership", "program_manager", "state"])
    q.add_argument("--state", help="the state user's jurisdiction (USPS code or name)")
    q.add_argument("--name", help="display name (default: the part of the email before @)")
    _db_arg(q)
    q = users_sub.add_parser("remove", help="remove a user")
    q.add_argument("email")
    _db_arg(q)
    q = users_sub.add_parser("list", help="list users")
    _db_arg(q)
    p = sub.add_parser("copy", help="copy every table of one store into another (DuckDB ↔ PostgreSQL), verified")
    p.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="SRC",
        help="the store copied from: a DuckDB file or a postgresql:// URL (read, never changed)",
    )
    p.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="DST",
        help="the store copied into: a DuckDB file (created if missing) or a postgresql:// URL",
    )
    p.add_argument("--replace", action="store_true", help="replace everything in a target that holds data")
    p = sub.add_parser("backup", help="write the whole store to one portable archive (Parquet and a manifest)")
    _db_arg(p)
    p.add_argument("--output", "-o", required=True, metavar="FILE", help="the archive to write")
    p = sub.add_parser("restore", help="fill an empty store from an archive written by `backup`")
    p.add_argument("archive", metavar="FILE")
    _db_arg(p)
    p.add_argument("--replace", action="store_true", help="replace everything in a store that holds data")
    p = sub.add_parser("check", help="check the store's integrity: one line per problem, exit 1 if any")
    _db_arg(p)
    p = sub.add_parser("notify", help="e-mail notifications: deliver the outbox, build the digest, list, retry")
    ntf = p.add_subparsers(dest="notify_command", required=True)
    q = ntf.add_parser(
        "send",
        help="deliver the due notifications through SHISN_SMTP_URL (one sender at a time); "
        "also builds the daily digest when it is due",
    )
    _db_arg(q)
    q.add_argument("--every", type=float, metavar="SECONDS", help="keep running: a round every SECONDS seconds")
    q.add_argument("--limit", type=int, metavar="N", help="deliver at most N notifications this round")
    q = ntf.add_parser("digest", help="build today's digests now (once a day; --force: again)")
    _db_arg(q)
    q.add_argument("--force", action="store_true", help="build another digest even if today's was built")
    q = ntf.add_parser("list", help="the outbox, newest first: status, attempts, last error")
    _db_arg(q)
    q.add_argument(
        "--status",
        choices=["pending", "sending", "sent", "failed", "digest", "digested"],
        help="only notifications in this status",
    )
    q.add_argument("--format", choices=["csv", "json"], default="csv")
    q = ntf.add_parser("retry", help="put every failed notification back in line")
    _db_arg(q)
    return parser


def _pairing_result(args):
    """The cycle's assessments → the optimal pairing (or an error message and exit code)."""
    con = db.connect(args.db)
    cycle = args.cycle or queries.latest_cycle(con)
    if cycle is None:
        print("the database holds no assessments: load files or run `python -m shisn demo` first", file=sys.stderr)
        return None, 2
    if cycle not in queries.cycles(con):
        print(
            f"no assessments for cycle {cycle}; cycles with data: {', '.join(map(str, queries.cycles(con)))}",
            file=sys.stderr,
        )
        return None, 2
    capacity = args.capacity if args.capacity is not None else pairing.DEFAULT_CAPACITY
    if capacity < 0:
        print("--capacity must be 0 or more", file=sys.stderr)
        return None, 2
    # candidate edges only for `pairings --candidates FILE`, which writes them without their reasons
    want = bool(getattr(args, "candidates", None))
    return pairing.suggest(
        queries.assessments(con, cycle),
        capacity=capacity,
        with_candidates=want,
        explain_candidates=False,
        offers=offers.pairing_offers(con),  # a published offer's capacity in its area
    ), 0


def _emit(df, fmt: str) -> None:
    if fmt == "json":
        sys.stdout.write(df.to_json(orient="records", indent=1, force_ascii=False) + "\n")
    else:
        df.to_csv(sys.stdout, index=False, lineterminator="\n")


@command
def cmd_demo(args) -> int:
    con = db.connect(args.db)
    s = demo.write_demo(con, seed=args.seed)
    print(
        f"wrote SYNTHETIC demo data to {db.describe(db.locate(args.db))}: {s.rows} rows, {len(s.states)} jurisdictions, "
        f"cycles {', '.join(map(str, s.cycles))}"
    )
    return 0


@command
def cmd_load(args) -> int:
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


@command
def cmd_pairings(args) -> int:
    result, code = _pairing_result(args)
    if result is None:
        return code
    out = result.pairs[["mentor", "mentee", "program_area", "score", "reasons"]]
    _emit(out, args.format)
    if args.candidates:
        result.candidates[["mentor", "mentee", "program_area", "score"]].to_csv(args.candidates, index=False)
    return 0


@command
def cmd_referrals(args) -> int:
    result, code = _pairing_result(args)
    if result is None:
        return code
    _emit(result.referrals[["mentee", "program_area", "reason"]].rename(columns={"mentee": "state"}), args.format)
    return 0


@command
def cmd_capacity(args) -> int:
    con = db.connect(args.db)
    cycles = queries.cycles(con)
    cycle = args.cycle or queries.latest_cycle(con)
    if cycle is None or cycle not in cycles:
        print(
            "the database holds no assessments: load files or run `python -m shisn demo` first"
            if cycle is None
            else f"no assessments for cycle {cycle}; cycles with data: {', '.join(map(str, cycles))}",
            file=sys.stderr,
        )
        return 2
    cap = args.capacity if args.capacity is not None else pairing.DEFAULT_CAPACITY
    if cap < 0:
        print("--capacity must be 0 or more", file=sys.stderr)
        return 2
    plan = capacity.plan(queries.assessments(con, cycle), capacity=cap, offers=offers.pairing_offers(con))
    _emit(capacity.export_areas(plan) if args.areas else capacity.export_slots(plan), args.format)
    return 0


@command
def cmd_cycles(args) -> int:
    con = db.connect(args.db)
    if args.cycles_command == "list":
        frame = reporting_cycles.status(con)
        default = reporting_cycles.default_cycle(frame)
        out = frame.assign(
            set_by_leadership=frame["explicit"],
            default=frame["cycle"] == default,
            due_on=[d.isoformat() if d else None for d in frame["due_on"]],
        )
        _emit(
            out[["cycle", "status", "set_by_leadership", "due_on", "reported", "jurisdictions", "default"]], args.format
        )
        return 0
    who = args.user or f"cli:{getpass.getuser()}"
    try:
        c = (
            reporting_cycles.open_cycle(con, args.year, args.due, who)
            if args.cycles_command == "open"
            else reporting_cycles.close_cycle(con, args.year, who)
        )
    except ValueError as e:
        print(str(e), file=sys.stderr)
        return 2
    print(
        f"cycle {c.cycle} {'opened' if c.status == reporting_cycles.OPEN else 'closed'}"
        + (f", due {c.due_on.isoformat()}" if c.status == reporting_cycles.OPEN and c.due_on else "")
        + f": {c.reported} of {c.jurisdictions} jurisdictions reported; the pages open on "
        + f"{reporting_cycles.default_cycle(reporting_cycles.status(con))}"
    )
    return 0


@command
def cmd_impact(args) -> int:
    con = db.connect(args.db)
    cycles = queries.cycles(con)
    if not cycles:
        print("the database holds no assessments: load files or run `python -m shisn demo` first", file=sys.stderr)
        return 2
    if args.cycle is not None and args.cycle not in cycles:
        print(
            f"no assessments for cycle {args.cycle}; cycles with data: {', '.join(map(str, cycles))}", file=sys.stderr
        )
        return 2
    inputs = impact.gather(con, auth.Viewer(auth.LEADERSHIP, "command line"), queries.assessments(con))
    _emit(impact.cli_table(impact.figures(inputs, cycle=args.cycle).by_area), args.format)
    return 0


@command
def cmd_exchanges(args) -> int:
    if args.action != "load":
        _emit(exchange_export.export_frame(db.connect(args.db)), args.format)
        return 0
    path = Path(args.file or "")
    if not args.file or not path.is_file():
        print(
            f"{args.file}: no such file" if args.file else "exchanges load: name the CSV file to load", file=sys.stderr
        )
        return 2
    con = db.connect(args.db)
    try:
        s = exchange_import.load(con, path.name, path.read_bytes(), args.user or f"cli:{getpass.getuser()}")
    except LoadError as e:
        for w in e.warnings:
            print(f"warning: {path.name}: {w}", file=sys.stderr)
        print(e.report(), file=sys.stderr)
        return 2
    for w in s.warnings:
        print(f"warning: {path.name}: {w}", file=sys.stderr)
    print(s.line())
    return 0


@command
def cmd_submissions(args) -> int:
    _emit(submissions.export_frame(db.connect(args.db), args.status), args.format)
    return 0


@command
def cmd_managers(args) -> int:
    path = Path(args.file)
    if not path.is_file():
        print(f"{args.file}: no such file", file=sys.stderr)
        return 2
    con = db.connect(args.db)
    try:
        counts = assignments.load_csv(con, path.name, path.read_bytes(), args.user or f"cli:{getpass.getuser()}")
    except LoadError as e:
        for w in e.warnings:
            print(f"warning: {w}", file=sys.stderr)
        print(e.report(), file=sys.stderr)
        return 2
    for w in counts["warnings"]:
        print(f"warning: {path.name}: {w}", file=sys.stderr)
    print(assignments.summary_line(path.name, counts))
    return 0


def _offer_file(args, kind: str) -> int:
    """`offers` / `practices`: export, or load a file (exit 2 with every problem on stderr, the store unchanged)."""
    if args.file_command == "export":
        _emit(offer_file.export(db.connect(args.db), kind), args.format)
        return 0
    path = Path(args.file)
    if not path.is_file():
        print(f"{args.file}: no such file", file=sys.stderr)
        return 2
    con = db.connect(args.db)
    try:
        s = offer_file.load(con, kind, path.name, path.read_bytes(), args.user or f"cli:{getpass.getuser()}")
    except LoadError as e:
        for w in e.warnings:
            print(f"warning: {path.name}: {w}", file=sys.stderr)
        print(e.report(), file=sys.stderr)
        return 2
    for w in s.warnings:
        print(f"warning: {path.name}: {w}", file=sys.stderr)
    print(s.line(db.describe(db.locate(args.db))))
    return 0


@command
def cmd_offers(args) -> int:
    return _offer_file(args, "offers")


@command
def cmd_practices(args) -> int:
    return _offer_file(args, "practices")


@command
def cmd_queue(args) -> int:
    con = db.connect(args.db)
    viewer = accounts.viewer_for(con, args.user)
    if viewer is None:
        print(
            f"no user {args.user} in the users table: add one with `python -m shisn users add EMAIL --role "
            "program_manager`",
            file=sys.stderr,
        )
        return 2
    if viewer.role not in queue.ROLES:
        print(
            f"{args.user} is a {auth.ROLE_LABELS[viewer.role]} user: the work queue is for program managers and "
            "ODP leadership",
            file=sys.stderr,
        )
        return 2
    _emit(queue.export(queue.items(con, viewer)), args.format)
    return 0


@command
def cmd_users(args) -> int:
    con = db.connect(args.db)
    by = f"cli:{getpass.getuser()}"
    if args.users_command == "list":
        accounts.users(con).to_csv(sys.stdout, index=False, lineterminator="\n")
        return 0
    try:
        if args.users_command == "add":
            u = accounts.add_user(con, args.email, args.role, by, state=args.state, name=args.name)
            print(f"{u['email']}: {u['role']}{' ' + u['state'] if u['state'] else ''}")
        elif not accounts.remove_user(con, args.email, by):
            print(f"no user {args.email}", file=sys.stderr)
            return 2
        else:
            print(f"removed {args.email}")
    except accounts.UserError as e:
        print(str(e), file=sys.stderr)
        return 2
    return 0


def _whole_store(fn, what: str) -> int:
    """Run a copy / backup / restore: refusals exit 2, anything else that fails exits 1; one line either way."""
    try:
        return fn()
    except (archive.Refused, db.StoreBusy) as e:
        print(str(e), file=sys.stderr)
        return 2
    except Exception as e:  # the store's transaction was rolled back
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        print(f"{what} failed, nothing was written: {first}", file=sys.stderr)
        return 1


@command
def cmd_copy(args) -> int:

    def run():
        for r in archive.copy(args.source, args.target, replace=args.replace):
            print(r.line())
        return 0

    return _whole_store(run, "copy")


@command
def cmd_backup(args) -> int:

    def run():
        manifest, snap = archive.backup(db.locate(args.db), args.output)
        for t in manifest["tables"]:
            print(archive.TableResult(t["name"], t["rows"], t["checksum"]).line("written"))
        print(
            f"wrote {args.output}: schema version {manifest['schema_version']}, {snap.rows()} rows in "
            f"{len(manifest['tables'])} tables"
        )
        return 0

    return _whole_store(run, "backup")


@command
def cmd_restore(args) -> int:

    def run():
        results, manifest = archive.restore(args.archive, db.locate(args.db), replace=args.replace)
        for r in results:
            print(r.line())
        upgraded = (
            f", upgraded from schema version {manifest['schema_version']}"
            if manifest["schema_version"] != db.SCHEMA_VERSION
            else ""
        )
        print(
            f"restored {args.archive} (written {manifest['created_at']}) into "
            f"{db.describe(db.locate(args.db))}{upgraded}"
        )
        return 0

    return _whole_store(run, "restore")


@command
def cmd_check(args) -> int:
    target = db.locate(args.db)
    try:
        store = archive.open_source(target)
    except archive.Refused as e:
        print(str(e), file=sys.stderr)
        return 2
    try:
        version = store.schema_version()
        if not 1 <= version <= db.SCHEMA_VERSION:
            print(
                f"{db.describe(target)} has schema version {version}; this shisn checks versions 1 to "
                f"{db.SCHEMA_VERSION}" + (": use a newer shisn" if version else " (not a shisn store)"),
                file=sys.stderr,
            )
            return 2
        found = integrity.problems(store)
    finally:
        store.close()
    for p in found:
        print(p.line())
    if not found:
        print(f"ok: no problems found in {db.describe(target)} (schema version {version})")
    return 1 if found else 0


@command
def cmd_notify(args) -> int:
    con = db.connect(args.db)
    if args.notify_command == "list":
        _emit(notify.export(notify.outbox(con, args.status, limit=None)), args.format)
        return 0
    if args.notify_command == "retry":
        n = notify.retry_failed(con, f"cli:{getpass.getuser()}")
        print(f"{n} failed notification(s) put back in line")
        return 0
    if args.notify_command == "digest":
        n = daily_digest.build_digests(con, force=args.force)
        print("today's digest was built already (--force builds another)" if n is None else f"{n} digest(s) built")
        return 0
    try:
        mailer.relay()
    except mailer.ConfigError as e:
        print(str(e), file=sys.stderr)
        return 2
    if args.every:
        if args.every <= 0:
            print("--every must be more than 0 seconds", file=sys.stderr)
            return 2
        try:
            mailer.loop(con, args.every, log=lambda line: print(line, flush=True))
        except KeyboardInterrupt:
            pass
        return 0
    out = mailer.run(con, limit=args.limit)
    print(out.line())
    return 0 if out.ok else 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except db.StoreBusy as e:
        print(f"shisn: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
