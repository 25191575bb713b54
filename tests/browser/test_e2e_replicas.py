"""Two app replicas on one PostgreSQL database, in a real browser: a load through one shows in the other after a
refresh, and two program managers editing one exchange on the two replicas get one winner and one clear message.
Also the embedded default: a load from the CLI while the app serves the DuckDB file shows on the next rerun."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.browser.session import Session, running_app
from tests.support import ROOT, make_csv

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def replicas(pg_cluster, tmp_path_factory):
    work = tmp_path_factory.mktemp("replicas")
    url = pg_cluster.url(pg_cluster.create_database())
    with running_app(work, store=url, log_name="a.log") as a, running_app(work, store=url, log_name="b.log") as b:
        yield {"a": a, "b": b, "url": url, "work": work}


def _shows(s: Session, text: str, timeout: float = 90_000) -> bool:
    """Wait until the page shows `text` (a state, not a time: the page may still be switching after a server's
    first request); False if it never does."""
    try:
        s.page.get_by_text(text).first.wait_for(state="visible", timeout=timeout)
        return True
    except Exception:
        return False


def _real_rows(s: Session) -> int:
    """From the banner "Partly demo data. X of Y assessment rows are synthetic …": Y − X."""
    import re

    m = re.search(r"([\d,]+) of ([\d,]+) assessment rows are synthetic", s.page.inner_text("body"))
    assert m, "no partly-demo banner"
    synthetic, total = (int(g.replace(",", "")) for g in m.groups())
    return total - synthetic


def test_a_load_through_one_replica_shows_in_the_other_after_a_refresh(browser, replicas, tmp_path):  # noqa: F811
    a, b = Session(browser, replicas["a"]), Session(browser, replicas["b"])
    try:
        b.open("/data")
        assert _shows(b, "Demo data.")  # both replicas started on one empty database: seeded once
        a.open("/data")
        f = tmp_path / "replica-load.csv"
        f.write_bytes(make_csv([["VA", "exercises", 2026, 1, "no", "yes", "loaded on replica A"]]))
        a.page.locator("[data-testid=stFileUploader] input[type=file]").set_input_files(str(f))
        a.wait_ready()
        a.page.get_by_role("button", name="Validate and load").click()
        a.wait_ready()
        assert _shows(a, "loaded replica-load.csv"), a.page.inner_text("body")[:800]
        b.page.reload()
        b.wait_ready()
        # B's banner now counts A's real row among the demo rows (the load log is a canvas grid, not text)
        assert _shows(b, "Partly demo data")
        assert _real_rows(b) == 1
        assert not a.exceptions() and not b.exceptions()
        b.shot("replicas-b-after-load-on-a")
    finally:
        a.close()
        b.close()


def test_two_replicas_editing_one_exchange_give_one_winner_and_one_clear_message(browser, replicas):  # noqa: F811
    import psycopg

    a, b = Session(browser, replicas["a"]), Session(browser, replicas["b"])
    try:
        # the first session on either replica seeds the empty database with the demo (whichever test runs first:
        # the suite's two workers may run this one before, or without, the test above)
        a.open("/exchanges")
        assert _shows(a, "Demo data.")
        with psycopg.connect(replicas["url"]) as conn:
            ex_id = conn.execute(
                "SELECT min(exchange_id) FROM exchanges WHERE status IN ('proposed', 'introduced', 'in_contact')"
            ).fetchone()[0]
        assert ex_id is not None
        for s in (a, b):  # both program managers open the same version of the exchange
            s.open(f"/exchanges?exchange={ex_id}")
            assert _shows(s, f"Exchange {ex_id}:")
        for s, who in ((a, "first"), (b, "second")):
            s.page.get_by_label("Comment for the history (optional)").fill(f"{who} replica's note")
        a.page.get_by_role("button", name="Save").first.click()
        a.wait_ready()
        assert _shows(a, f"Saved exchange {ex_id}"), a.page.inner_text("body")[:800]
        b.page.get_by_role("button", name="Save").first.click()
        b.wait_ready()
        assert _shows(b, "since you opened it"), b.page.inner_text("body")[:800]
        assert b.page.get_by_text(f"Saved exchange {ex_id}").count() == 0
        b.shot("replicas-b-stale-edit")
        with psycopg.connect(replicas["url"]) as conn:
            comments = [
                r[0]
                for r in conn.execute(
                    "SELECT comment FROM exchange_history WHERE exchange_id = %s AND comment LIKE '%% replica''s note'",
                    [ex_id],
                ).fetchall()
            ]
        assert comments == ["first replica's note"]  # the loser wrote nothing
    finally:
        a.close()
        b.close()


def test_a_cli_load_while_the_app_serves_its_duckdb_file_shows_on_the_next_rerun(browser, tmp_path):  # noqa: F811
    with running_app(tmp_path) as base:
        s = Session(browser, base)
        try:
            s.open("/data")
            assert _shows(s, "Demo data.")
            f = tmp_path / "cli-load.csv"
            f.write_bytes(make_csv([["WY", "training", 2026, 2, "no", "yes", "from the CLI"]]))
            r = subprocess.run(
                [sys.executable, "-m", "shisn", "load", str(f), "--db", str(tmp_path / "shisn.duckdb")],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=180,
            )
            assert r.returncode == 0, r.stderr
            assert r.stdout.startswith("loaded cli-load.csv")
            s.page.reload()
            s.wait_ready()
            assert _shows(s, "Partly demo data")
            assert _real_rows(s) == 1  # the CLI's one real row among the demo rows
            assert not s.exceptions()
        finally:
            s.close()
