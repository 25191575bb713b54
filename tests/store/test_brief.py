"""The pairing brief: one self-contained HTML page for an exchange, both states side by side, the pairing's
explanation, both program managers' contacts, suggested means; notes only where the viewer may see them and never
a third state's."""

import re

import pytest

from shisn.domain import auth
from shisn.render import brief
from shisn.services import assignments, exchanges
from shisn.store import ingest
from tests.support import make_csv

CYCLE = 2025
HEADER = ["state", "program_area", "cycle", "maturity", "offers_help", "seeks_help", "notes", "planning", "exercises"]
ROWS = [
    ["VA", "exercises", CYCLE, 5, "yes", "no", "VANOTE <b>bold</b>", 5, 4],
    ["VA", "training", CYCLE, 4, "yes", "no", "VATRAINING", "", ""],
    ["MD", "exercises", CYCLE, 2, "no", "yes", "MDNOTE", 2, 1],
    ["MD", "recovery", CYCLE, 1, "no", "no", "", "", ""],
    ["NJ", "exercises", CYCLE, 3, "no", "yes", "NJTHIRDSTATENOTE", "", ""],
]
LEAD = auth.Viewer(auth.LEADERSHIP, "Lee Leader")
MD_USER = auth.Viewer(auth.STATE, "Mo (MD)", ("MD",))
NJ_USER = auth.Viewer(auth.STATE, "Jo (NJ)", ("NJ",))
VA_PM = auth.Viewer(auth.PROGRAM_MANAGER, "Vic PM", ("VA",))


@pytest.fixture
def ex(con):
    ingest.load(con, [("b.csv", make_csv(ROWS, header=HEADER))], "tester")
    con.cursor().execute(
        "INSERT INTO program_managers VALUES ('VA', 'Vic PM', 'vic@example.org'), ('MD', 'Pat PM', 'pat@example.org')"
    ).fetchall()
    return exchanges.request_introduction(con, MD_USER, "VA", "MD", ["exercises"], CYCLE, "We need <script>x</script>")


def test_brief_shows_both_states_side_by_side_with_why_contacts_and_means(con, ex):
    html = brief.render(con, ex, LEAD)
    assert "Virginia" in html and "Maryland" in html and "status <strong>requested</strong>" in html
    block = {
        m.group(1): m.group(0)
        for m in re.finditer(r"<div class='state' data-state='(\w+)'>.*?</div></div>", html, re.S)
    }
    assert set(block) == {"VA", "MD"}
    assert "<td class='num'>5</td>" in block["VA"] and "<td class='num'>2</td>" in block["MD"]
    assert "Planning, Exercises" in block["VA"]  # POETE where given
    assert "Training systems (4); Exercises (5)" in block["VA"]  # strengths
    assert "Exercises (2); Recovery (1)" in block["MD"]  # needs: sought or rated 1-2
    assert "vic@example.org" in block["VA"] and "pat@example.org" in block["MD"]
    assert "Virginia (5) → Maryland (2), Exercise programs: same FEMA Region III, shared border" in html
    assert "On-site visit: practical, they share a border." in html
    assert "Maryland (MD) asked for an introduction to a mentor" in html


def test_brief_is_self_contained_and_user_text_is_inert(con, ex):
    html = brief.render(con, ex, LEAD)
    assert not re.search(r"<(script|link|img|iframe)\b|https?://|src=|@import|url\(", html)
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "&lt;b&gt;bold&lt;/b&gt;" in html


def test_notes_only_where_the_viewer_may_see_them_and_never_a_third_states(con, ex):
    lead = brief.render(con, ex, LEAD)
    assert "VANOTE" in lead and "MDNOTE" in lead and "NJTHIRDSTATENOTE" not in lead
    assert "VATRAINING" not in lead  # only the exchange's areas
    md = brief.render(con, ex, MD_USER)
    assert "MDNOTE" in md and "VANOTE" not in md and "Notes are shown only" in md
    vapm = brief.render(con, ex, VA_PM)
    assert "VANOTE" in vapm and "MDNOTE" not in vapm
    with pytest.raises(PermissionError):
        brief.render(con, ex, NJ_USER)


def test_a_pair_the_pairing_would_not_make_says_so(con, ex):
    other = exchanges.open_exchange(con, "MD", "NJ", ["recovery"], CYCLE, "Lee Leader")
    html = brief.render(con, other, LEAD)
    assert "Recovery: not a pairing candidate in 2025" in html
    assert "NJ" in html and "not reported in 2025" in html
    assert brief.file_name(exchanges.get(con, other)) == f"shisn-pairing-brief-{other}-MD-NJ.html"


def test_contacts_follow_one_rule_the_parties_see_both_program_managers_and_nobody_else(con, ex):
    both = {"VA": ("Vic PM", "vic@example.org"), "MD": ("Pat PM", "pat@example.org")}
    for viewer in (LEAD, MD_USER, VA_PM, auth.Viewer(auth.STATE, "Va (VA)", ("VA",)), None):
        pms = assignments.exchange_pms(con, "VA", "MD", viewer)
        assert {c: (pm["name"], pm["email"]) for c, pm in pms.items()} == both
        if viewer is not None:
            html = brief.render(con, ex, viewer)
            assert all(f"{name} · {email}" in html for name, email in both.values())
    withheld = assignments.exchange_pms(con, "VA", "MD", NJ_USER)
    assert {(pm["name"], pm["email"]) for pm in withheld.values()} == {(assignments.HIDDEN_EXCHANGE_CONTACT, "")}
    table = assignments.with_exchange_pms(exchanges.list_exchanges(con, None), con, NJ_USER)
    assert set(table["mentor_pm_email"]) | set(table["mentee_pm_email"]) == {""}
    other = assignments.exchange_pms(con, "VA", "GU", MD_USER)  # MD is no party; GU has no PM assigned
    assert other["VA"] == {"state": "VA", "name": assignments.HIDDEN_EXCHANGE_CONTACT, "email": ""}
    assert other["GU"] is None


def test_the_brief_uses_the_ratings_of_the_exchanges_cycle_and_names_it(con, ex):
    later = [
        ["VA", "exercises", CYCLE + 1, 3, "yes", "no", "", "", ""],
        ["MD", "exercises", CYCLE + 1, 4, "no", "no", "", "", ""],
    ]
    ingest.load(con, [("later.csv", make_csv(later, header=HEADER))], "tester", this_year=CYCLE + 1)
    html = brief.render(con, ex, LEAD)
    assert f"assessment cycle {CYCLE}" in html
    block = {
        m.group(1): m.group(0)
        for m in re.finditer(r"<div class='state' data-state='(\w+)'>.*?</div></div>", html, re.S)
    }
    assert "<td class='num'>5</td>" in block["VA"] and "<td class='num'>2</td>" in block["MD"]  # 2025's, not 2026's
