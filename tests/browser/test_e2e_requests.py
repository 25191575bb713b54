"""Browser test, on a real server signed in by a trusted header (SHISN_AUTH=header), one browser context per
person: a state user following a colleague's link to pages it may not use (the fresh server's first request) reads
whom each page is for and where to go; the state requests an introduction; its program manager finds it in the work
queue and accepts it; both states then see the exchange as proposed; the pairing brief downloads and holds both
states' names and no third state's notes. Run alone with `pytest -m e2e tests/browser/test_e2e_requests.py`."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from shisn.domain import exchange_rules
from shisn.store import accounts
from tests.browser.session import Session, download, running_app
from tests.support.identity_proxy import IdentityProxy

pytestmark = pytest.mark.e2e
HEADER = "X-Forwarded-Email"
MD, PM, THIRD = "mo@example.org", "morgan.okafor@example.org", "nj@example.org"  # demo PM of FEMA Region III
THIRD_NOTE = "NJTHIRDSTATESECRET"


@pytest.fixture  # new for every attempt: the test writes requests a second attempt must not find
def store(tmp_path_factory):
    from shisn import demo
    from shisn.domain import auth
    from shisn.store import db, ingest

    work = tmp_path_factory.mktemp("e2e_requests")
    con = db.connect(work / "shisn.duckdb")
    demo.write_demo(con)
    rows = demo.generate()
    nj = rows[(rows["state"] == "NJ") & (rows["cycle"] == rows["cycle"].max())].copy()
    nj["notes"] = THIRD_NOTE
    buf = io.StringIO()
    nj.to_csv(buf, index=False)
    ingest.load(con, [("nj.csv", buf.getvalue().encode())], "tester")
    accounts.add_user(con, MD, auth.STATE, "tester", state="MD", name="Mo Maryland")
    accounts.add_user(con, PM, auth.PROGRAM_MANAGER, "tester", name="Morgan Okafor")
    accounts.add_user(con, THIRD, auth.STATE, "tester", state="NJ", name="Jo Jersey")
    con.close()
    return work


class UserSession(Session):
    """A person signed in as `email`: their browser reaches the app through a proxy that sets the identity header on
    every request, as the deployment's reverse proxy does (tests/identity_proxy.py)."""

    def __init__(self, browser, base: str, email: str):  # noqa: F811
        self.proxy = IdentityProxy(base, HEADER, email)
        super().__init__(browser, self.proxy.__enter__())

    def close(self):
        try:
            super().close()
        finally:
            self.proxy.__exit__(None, None, None)


def as_user(browser, base: str, email: str) -> Session:  # noqa: F811
    return UserSession(browser, base, email)


def test_state_requests_pm_accepts_from_the_queue_both_see_proposed_and_the_brief(
    browser,
    store,  # noqa: F811
    monkeypatch,
):
    monkeypatch.setenv("SHISN_AUTH", "header")
    with running_app(store) as base:
        md = as_user(browser, base, MD)
        try:
            # a colleague's link as the fresh server's very first request, then the other pages a state may not use
            md.open("/national")
            md.page.get_by_text("is for ODP leadership").first.wait_for(timeout=60_000)  # after the hand-over to app.py
            md.wait_ready()
            assert md.page.get_by_text("Page not found").count() == 0
            body = md.page.inner_text("body")
            assert "National coverage is for ODP leadership and program managers" in body, body[:600]
            assert md.page.get_by_role("link", name="Maryland (MD): state profile").count() == 1
            assert md.page.locator("[data-testid=stMetric]").count() == 0
            for path, title in (
                ("/pairings", "Pairings"),
                ("/program_managers", "Program managers"),
                ("/users", "Users and audit"),
            ):
                md.open(path)
                assert md.page.get_by_text("Page not found").count() == 0, path
                assert f"{title} is for" in md.page.inner_text("body"), path
                assert md.page.locator("[data-testid=stDataFrame]").count() == 0, path
            # the state asks on its profile's partners view
            md.open("/state_profile?state=MD&profile_view=Partners+and+exchanges")
            md.page.get_by_label("Message (optional)").fill("We would like an introduction.")
            md.page.get_by_role("button", name="Request introduction").click()
            md.wait_ready()
            assert md.page.get_by_text("sent").count() >= 1, md.page.inner_text("body")[:800]
            md.shot("requests-state-asked")
        finally:
            md.close()

        pm = as_user(browser, base, PM)
        try:
            pm.open("/")  # a program manager lands on the work queue
            assert "/queue" in pm.page.url
            link = pm.page.get_by_role("link").filter(has_text="MD asks to be mentored by").first
            text = link.inner_text()
            link.click()
            pm.wait_ready()
            assert "/exchanges" in pm.page.url and "exchange=" in pm.page.url
            ex_id = int(pm.page.url.split("exchange=")[1].split("&")[0])
            assert f"Request {ex_id}" in text
            assert pm.page.get_by_text("We would like an introduction.").count() >= 1
            pm.page.get_by_role("button", name="Accept").click()
            pm.wait_ready()
            assert pm.page.get_by_text(f"Request {ex_id} is now proposed").count() >= 1
            got = download(pm, "Pairing brief")
            html = Path(got.value.path()).read_text(encoding="utf-8")
            pm.shot("requests-pm-accepted")
        finally:
            pm.close()
        assert "Maryland" in html and THIRD_NOTE not in html and "<script" not in html
        mentor = html.split("<h1>")[1].split(" → ")[0]
        assert mentor and mentor != "Maryland"

        from shisn.domain import jurisdictions

        mentor_code = {v: k for k, v in jurisdictions.names().items()}[mentor]
        for email, state in ((MD, "MD"), (None, mentor_code)):
            if email is None:  # the mentor state's user, added while the server runs (read per request)
                from shisn.domain import auth
                from shisn.store import db

                con = db.connect(store / "shisn.duckdb")
                accounts.add_user(con, "mentor@example.org", auth.STATE, "tester", state=state)
                con.close()
                email = "mentor@example.org"
            s = as_user(browser, base, email)
            try:
                s.open(f"/exchanges?exchange={ex_id}")
                assert s.page.get_by_text(f"Exchange {ex_id}:").count() >= 1
                assert s.page.get_by_text("proposed").count() >= 1
                assert s.page.get_by_text("We would like an introduction.").count() >= 1
                assert s.outbound == []
            finally:
                s.close()
        nj = as_user(browser, base, THIRD)
        try:
            nj.open(f"/exchanges?exchange={ex_id}")
            assert nj.page.get_by_text("We would like an introduction.").count() == 0
        finally:
            nj.close()
        assert exchange_rules.STATUS_LABELS[exchange_rules.PROPOSED] == "proposed"
