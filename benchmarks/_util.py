"""Shared helpers for the benchmarks: the project root on sys.path, free ports, starting a Streamlit server the
way tests/browser/test_e2e.py does, reading a process's resident memory, medians."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-gl=swiftshader",
    "--enable-unsafe-swiftshader",
]


def demo_rows():
    """The demo data set generated in memory (no store), as the app's queries return it: (the latest cycle's rows,
    every cycle's rows, the latest cycle). For the floor apps, which draw shisn's elements from the same data."""
    from shisn import demo
    from shisn.store import db, queries

    con = db.connect(":memory:")
    demo.write_demo(con)
    cycle = queries.cycles(con)[0]
    return queries.assessments(con, cycle), queries.assessments(con, None), cycle


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """`python -m streamlit run SCRIPT --server.headless true --server.port P --server.address 127.0.0.1`
    (plus `--server.fileWatcherType none`, as the e2e tests), from the project root, with SHISN_DB set."""

    def __init__(self, script: Path, db_file: Path, log_file: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, SHISN_DB=str(db_file))
        self.log = open(log_file, "w")
        self.log_file = log_file
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(script),
                "--server.headless",
                "true",
                "--server.port",
                str(self.port),
                "--server.address",
                "127.0.0.1",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        for _ in range(480):
            try:
                urllib.request.urlopen(self.base + "/_stcore/health", timeout=1)
                return
            except Exception:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"{script.name} did not start: " + Path(log_file).read_text()[-2000:])

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def memory_mb(pid: int | None = None) -> dict:
    """Resident set size now (VmRSS) and its peak so far (VmHWM) of a process, in MB (Linux /proc)."""
    out = {}
    with open(f"/proc/{pid or os.getpid()}/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out[{"VmRSS": "rss_mb", "VmHWM": "peak_rss_mb"}[key]] = int(value.split()[0]) / 1024
    return out


def median(xs) -> float | None:
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def timed(f, *args, **kwargs):
    t = time.perf_counter()
    r = f(*args, **kwargs)
    return r, time.perf_counter() - t


def write_benchmarks_section(name: str, section: str) -> None:
    """Put `section` (text that starts with `<!-- NAME:start -->` and ends with `<!-- NAME:end -->`) in BENCHMARKS.md
    in place of the section of that name, or at the end if the file has none."""
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")
