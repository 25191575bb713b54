"""Browser test, on a real server signed in by a trusted header (SHISN_AUTH=header), one browser context per
person: a state user (NJ) describes and publishes an offer on the Offers and practices page; another state's user
(VA) finds it by searching, with a typo, opens it and asks for an introduction from it; the program manager of VA
finds the request in the work queue, sees the offer it names and accepts it; VA then sees the exchange as proposed,
naming the offer. Run alone with `pytest -m e2e tests/browser/test_e2e_offers.py`."""

from __future__ import annotations

import re

import pytest

from shisn.domain import auth
from shisn.store import accounts
from tests.browser.session import Session, running_app
from tests.support.identity_proxy import IdentityProxy

pytestmark = pytest.mark.e2e
HEADER = "X-Forwarded-Email"
NJ, VA, PM = "nj@example.org", "va@example.org", "morgan.okafor@example.org"  # the demo PM of FEMA Region III
TITLE = "Quarterly county radio drills"
AREA = "Communications and equipment interoperability"  # catalog.area_label("interoperability")


@pytest.fixture  # new for every attempt: the test writes an offer and a request a second attempt must not find
def store(tmp_path_factory):
    from shisn import demo
    from shisn.services import offers
    from shisn.store import db

    work = tmp_path_factory.mktemp("e2e_offers")
    con = db.connect(work / "shisn.duckdb")
    demo.write_demo(con)
    lead = auth.Viewer(auth.LEADERSHIP, "tester")
    for r in offers.published(con, state="NJ").itertuples():  # the demo's offers of NJ: it describes its own
        offers.withdraw(con, lead, r.offer_id, r.version)
    accounts.add_user(con, NJ, auth.STATE, "tester", state="NJ", name="Jo Jersey")
    accounts.add_user(con, VA, auth.STATE, "tester", state="VA", name="Val Virginia")
    accounts.add_user(con, PM, auth.PROGRAM_MANAGER, "tester", name="Morgan Okafor")
    con.close()
    return work


class UserSession(Session):
    """A person signed in as `email`: their browser reaches the app through a proxy that sets the identity header on
    every request, as the deployment's reverse proxy does (tests/support/identity_proxy.py)."""

    def __init__(self, browser, base: str, email: str):
        self.proxy = IdentityProxy(base, HEADER, email)
        super().__init__(browser, self.proxy.__enter__())

    def close(self):
        try:
            super().close()
        finally:
            self.proxy.__exit__(None, None, None)


def test_a_state_publishes_an_offer_another_finds_it_and_asks_and_the_pm_accepts(browser, store, monkeypatch):
    monkeypatch.setenv("SHISN_AUTH", "header")
    with running_app(store) as base:
        # --- NJ describes and publishes its offer --------------------------------------------------------------
        nj = UserSession(browser, base, NJ)
        try:
            nj.open("/offers?offers_view=Your+offers+and+practices")
            assert nj.page.get_by_role("heading", name="New Jersey (NJ): offers").count() == 1
            assert nj.open_panel("Describe a new offer")
            nj.page.get_by_label("Title", exact=True).fill(TITLE)
            nj.choose("Program area", AREA)
            nj.page.get_by_label("What it covers", exact=True).fill(
                "How we drill radio interoperability with 21 county dispatch centers every quarter."
            )
            formats = nj.page.get_by_role("combobox", name="Formats", exact=True)
            for option in ("teleconference", "on-site visit"):
                formats.click()
                formats.fill(option)  # as Session.choose: typing filters the list, so the option is rendered
                nj.page.get_by_role("option", name=option, exact=True).click()
            nj.page.keyboard.press("Escape")
            nj.page.get_by_role("spinbutton", name="Capacity (exchanges per cycle)").fill("3")
            nj.page.get_by_role("button", name="Publish", exact=True).click()
            nj.wait_ready()
            done = nj.page.get_by_text(re.compile(r"Offer \d+ published"))
            done.first.wait_for(timeout=30_000)
            offer_id = int(re.search(r"Offer (\d+) published", done.first.inner_text()).group(1))
            nj.page.get_by_role("heading", name=f"Offer {offer_id}: {TITLE}").wait_for(timeout=30_000)  # listed
            nj.shot("offers-state-published")
            assert not nj.exceptions() and nj.outbound == []
        finally:
            nj.close()

        # --- VA finds it by search (with a typo), opens it and asks for an introduction ------------------------
        va = UserSession(browser, base, VA)
        try:
            va.open("/offers")
            box = va.page.get_by_role("textbox", name="Search offers and practices")
            box.fill("county radio interoperabilty")
            box.press("Enter")
            va.wait_ready()
            assert "q=county+radio+interoperabilty" in va.page.url or "q=county%20radio" in va.page.url, va.page.url
            va.page.get_by_role("heading", name=TITLE).first.wait_for(timeout=30_000)
            assert va.page.get_by_text("interoperabilty→interoperability").count() >= 1
            va.shot("offers-search-typo")
            va.page.get_by_role("button", name=f"Open offer {offer_id}", exact=True).click()
            va.wait_ready()
            va.page.get_by_role("heading", name=f"Offer {offer_id}: {TITLE}").wait_for(timeout=30_000)
            assert f"offer={offer_id}" in va.page.url
            va.page.get_by_label("Message (optional)").fill("Could we join your next drill?")
            va.page.get_by_role("button", name="Ask for an introduction").click()
            va.wait_ready()
            sent = va.page.get_by_text(re.compile(r"Request \d+ sent"))
            sent.first.wait_for(timeout=30_000)
            ex_id = int(re.search(r"Request (\d+) sent", sent.first.inner_text()).group(1))
            va.shot("offers-state-asked")
            assert not va.exceptions() and va.outbound == []
        finally:
            va.close()

        # --- VA's program manager accepts it from the work queue ------------------------------------------------
        pm = UserSession(browser, base, PM)
        try:
            pm.open("/")  # a program manager lands on the work queue
            assert "/queue" in pm.page.url
            link = pm.page.get_by_role("link").filter(has_text=f"Request {ex_id}:").first
            link.click()
            pm.wait_ready()
            assert "/exchanges" in pm.page.url and f"exchange={ex_id}" in pm.page.url
            named = pm.page.get_by_role("link").filter(has_text=f"Requested from offer {offer_id}: {TITLE}")
            named.wait_for(timeout=30_000)
            assert pm.page.get_by_text("Could we join your next drill?").count() >= 1
            pm.page.get_by_role("button", name="Accept").click()
            pm.wait_ready()
            pm.page.get_by_text(f"Request {ex_id} is now proposed").first.wait_for(timeout=30_000)
            pm.shot("offers-pm-accepted")
            assert not pm.exceptions() and pm.outbound == []
        finally:
            pm.close()

        # --- VA sees it proposed, naming the offer --------------------------------------------------------------
        va = UserSession(browser, base, VA)
        try:
            va.open(f"/exchanges?exchange={ex_id}")
            assert va.page.get_by_role("heading").filter(has_text=f"Exchange {ex_id}: NJ → VA").count() == 1
            assert va.page.get_by_text("proposed").count() >= 1
            assert va.page.get_by_role("link").filter(has_text=f"Requested from offer {offer_id}: {TITLE}").count() == 1
            va.shot("offers-state-sees-proposed")
            assert not va.exceptions() and va.outbound == []
        finally:
            va.close()
