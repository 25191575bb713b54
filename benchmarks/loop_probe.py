"""Does long work on the server hold the event loop (or the GIL) while many people use the app?

Starts the app (`streamlit run app.py`, headless, loopback, a fresh demo store) with a probe inside the server
process, runs the browser test's concurrent sessions against it (tests/browser/test_e2e_load.py: N browser contexts at
once, each opening pages, switching views and downloading), and reports:

- event-loop lag: every 20 ms the probe thread hands the loop a callback and records how late it runs. The loop
  serves every websocket (messages, pings/pongs, the initial handshake) and every HTTP request, so its lag is
  how long a heartbeat or a download could wait. Percentiles, the worst values and how often it exceeded 1 s.
- GIL wait: how late the probe thread itself wakes from a 20 ms sleep (it needs the GIL to run).
- downloads delivered n/N, sessions that lost their connection, and the run's time.

    python benchmarks/loop_probe.py                 # 12 sessions
    python benchmarks/loop_probe.py --sessions 6 --json out.json
    python benchmarks/loop_probe.py --py-spy 20     # also sample the server for 20 s with py-spy (pip install py-spy)

A diagnostic, not a pass/fail test: the numbers depend on the machine and on what else it runs. Streamlit options
can be varied by environment, e.g. `STREAMLIT_RUNNER_POST_SCRIPT_GC=true python benchmarks/loop_probe.py` measures
Streamlit's default of a full garbage collection after every script run (the app's config turns it off).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INTERVAL = 0.02


def _probe(out: Path) -> None:
    """In the server process: measure the Runtime's event loop lag and this thread's GIL wait, and write them to
    `out` (JSON) every second."""
    from streamlit.runtime import Runtime

    while not Runtime.exists():
        time.sleep(0.05)
    rt = Runtime.instance()
    while True:
        try:
            loop = rt._get_async_objs().eventloop  # noqa: SLF001 - a diagnostic reads the runtime's loop
            break
        except Exception:
            time.sleep(0.05)
    lags: list[tuple[float, float]] = []  # (seconds since start, lag)
    gil: list[float] = []
    start = time.perf_counter()
    last_write = start
    while not loop.is_closed():
        ran = threading.Event()
        t0 = time.perf_counter()
        stamp = {}

        def cb():
            stamp["t"] = time.perf_counter()
            ran.set()

        try:
            loop.call_soon_threadsafe(cb)
        except RuntimeError:
            break
        ran.wait(120)
        lags.append((round(t0 - start, 3), stamp.get("t", time.perf_counter()) - t0))
        s0 = time.perf_counter()
        time.sleep(INTERVAL)
        gil.append(time.perf_counter() - s0 - INTERVAL)
        if time.perf_counter() - last_write > 1:
            last_write = time.perf_counter()
            tmp = out.with_suffix(".tmp")
            tmp.write_text(json.dumps({"lags": lags, "gil": gil}))
            tmp.replace(out)


def serve(out: str, argv: list[str]) -> None:
    threading.Thread(target=_probe, args=(Path(out),), daemon=True, name="loop-probe").start()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", *argv]
    cli.main()


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _stats(values: list[float]) -> dict:
    if not values:
        return {}
    v = sorted(values)
    q = lambda p: round(v[min(len(v) - 1, int(p * len(v)))] * 1000, 1)  # noqa: E731
    return {
        "samples": len(v),
        "p50_ms": q(0.50),
        "p95_ms": q(0.95),
        "p99_ms": q(0.99),
        "max_ms": round(v[-1] * 1000, 1),
        "over_100ms": sum(x > 0.1 for x in v),
        "over_1s": sum(x > 1 for x in v),
        "over_5s": sum(x > 5 for x in v),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=12)
    ap.add_argument("--json", help="write the full result here")
    ap.add_argument(
        "--py-spy",
        type=float,
        default=0,
        metavar="SECONDS",
        help="also record the server with py-spy for this long (top functions by GIL-holding samples)",
    )
    args = ap.parse_args()
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    import test_e2e_load as load

    work = Path(tempfile.mkdtemp(prefix="shisn-probe-"))
    out = work / "probe.json"
    port = _free_port()
    env = dict(os.environ, SHISN_DB=str(work / "shisn.duckdb"))
    log = open(work / "server.log", "w")
    proc = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            str(out),
            str(ROOT / "app.py"),
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    spy = None
    try:
        for _ in range(480):
            try:
                urllib.request.urlopen(base + "/_stcore/health", timeout=1)
                break
            except Exception:
                if proc.poll() is not None:
                    raise SystemExit("the app did not start: " + (work / "server.log").read_text()[-2000:])
                time.sleep(0.25)
        if args.py_spy and shutil.which("py-spy"):
            spy = subprocess.Popen(
                [
                    "py-spy",
                    "record",
                    "--pid",
                    str(proc.pid),
                    "--duration",
                    str(int(args.py_spy)),
                    "--format",
                    "raw",
                    "--gil",
                    "--output",
                    str(work / "py-spy.txt"),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
        workers, took = asyncio.run(load.run_sessions(base, args.sessions))
        time.sleep(1.5)  # the probe writes every second
        peak_rss_mb = _peak_rss_mb(proc.pid)
    finally:
        if spy is not None:
            spy.wait(timeout=args.py_spy + 60)
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    probe = json.loads(out.read_text())
    summary = load.summary(workers)
    result = {
        "sessions": args.sessions,
        "seconds": round(took, 1),
        "downloads": f"{summary['downloads_ok']}/{summary['downloads']}",
        "loop_lag": _stats([lag for _, lag in probe["lags"]]),
        "worst_loop_lags": sorted(probe["lags"], key=lambda x: -x[1])[:8],
        "gil_wait": _stats(probe["gil"]),
        "server_peak_rss_mb": peak_rss_mb,
        **{k: v for k, v in summary.items() if isinstance(v, list)},
        "steps": {w.n: w.steps for w in workers},
    }
    if spy is not None and (work / "py-spy.txt").exists():
        result["py_spy_top"] = _top_frames(work / "py-spy.txt")
    print(json.dumps({k: v for k, v in result.items() if k != "steps"}, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


def _peak_rss_mb(pid: int) -> float | None:
    """The server's peak resident set (VmHWM), MB; None where /proc is not available."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _top_frames(raw: Path, n: int = 25) -> list[tuple[str, int]]:
    """py-spy's raw (collapsed) stacks → the innermost project or library frames holding the GIL most often."""
    counts: dict[str, int] = {}
    for line in raw.read_text().splitlines():
        stack, _, k = line.rpartition(" ")
        frames = stack.split(";")
        mine = [f for f in frames if "/work/main/" in f]
        key = (mine[-1] if mine else frames[-1]).strip()
        counts[key] = counts.get(key, 0) + int(k)
    return sorted(counts.items(), key=lambda x: -x[1])[:n]


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(main())
