"""The printable report: self-contained (no request of any kind), user text escaped, labelled with the data date,
cycle and demo status, and showing exactly the numbers of the profile, for the small hand-built set and for every
one of the 56 jurisdictions in the demo set."""

import datetime as dt
import re
from html.parser import HTMLParser

import pytest

from shisn import demo
from shisn.domain import auth, jurisdictions, profile
from shisn.domain.auth import Viewer
from shisn.render import report
from shisn.store import db, queries
from tests.unit.test_profile import LEAD, VA_USER, load_small

GENERATED = dt.datetime(2026, 3, 1, 9, 30)


class Tables(HTMLParser):
    """Every <table id=...>: its body rows as (attributes of the <tr>, [cell texts])."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.tables, self._table, self._row, self._cell, self._in_body = {}, None, None, None, False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and "id" in a:
            self._table = self.tables.setdefault(a["id"], [])
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._table is not None and self._in_body:
            self._row = (a, [])
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row[1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def assert_self_contained(html):
    low = html.lower()
    assert "<script" not in low and "<link" not in low and "<iframe" not in low and "<img" not in low
    assert not re.search(r"\b(src|href)\s*=", low)
    assert "url(" not in low and "@import" not in low
    # the only 'http' outside escaped text is the SVG namespace, which is not a request
    assert set(re.findall(r'xmlns="([^"]+)"', html)) <= {"http://www.w3.org/2000/svg"}


def assert_same_numbers(html, p):
    """Every number the report prints equals the profile's."""
    t = Tables(html).tables
    got = [(a["data-area"], cells[1], cells[2], cells[3]) for a, cells in t["maturity"]]
    want = [
        (r.program_area, profile.fmt(r.maturity), profile.fmt(r.region_median), profile.fmt(r.national_median))
        for r in p.table.itertuples()
    ]
    assert got == want
    if p.has_poete:
        rows = {a["data-area"]: cells[1:] for a, cells in t["poete"]}
        assert list(rows) == list(p.poete.index)
        for area, values in p.poete.iterrows():
            assert rows[area] == ["" if v is None or v != v else str(int(v)) for v in values]
    if p.trend is not None and not p.trend.empty:
        rows = {a["data-area"]: cells for a, cells in t["trend"]}
        assert list(rows) == list(p.trend.index)
        for area, values in p.trend.iterrows():
            assert rows[area][2 : 2 + len(values)] == [profile.fmt(v) for v in values]
    for key, df in (("mentors", p.mentors), ("mentees", p.mentees)):
        if df is None or not len(df):
            assert key not in t
            continue
        table = re.search(rf'<table id="{key}".*?</table>', html, re.S).group(0)
        got = [
            (m[0] or m[4], m[1] or m[5], m[2] or m[6], m[3] or m[7])
            for m in re.findall(
                r'<tr data-area="([^"]+)" data-partner="([^"]+)">.*?<td class="num">([^<]*)</td>'
                r'<td class="num">([^<]*)</td>'
                r'|<tr class="more" data-area="([^"]+)">|<span data-partner="([^"]+)" data-maturity="([^"]+)" '
                r'data-score="([^"]+)">',
                table,
                re.S,
            )
        ]
        # a "more" row only names the area of the spans after it
        rows, area = [], None
        for a, partner, maturity, score in got:
            if partner:
                rows.append((a or area, partner, maturity, score))
            else:
                area = a
        assert rows == [
            (a, s, profile.fmt(m), f"{sc:.2f}")
            for a, s, m, sc in zip(df["program_area"], df["partner"], df["partner_maturity"], df["score"])
        ]


@pytest.fixture
def small_profile(con):
    df = load_small(con)
    return profile.build(df, "VA", 2026, LEAD, queries.program_managers(con)), queries.data_status(con)


def test_report_shows_the_profile_numbers(small_profile):
    p, status = small_profile
    html = report.render(p, status, GENERATED)
    assert_same_numbers(html, p)
    t = Tables(html).tables
    ex = dict((a["data-area"], c) for a, c in t["maturity"])["exercises"]
    assert ex[1:] == ["5", "3", "3.5", "strength"]  # hand-computed: VA 5, Region III 3, national 3.5
    assert p.summary_text in re.sub(r"\s+", " ", html.replace("&#x27;", "'"))
    assert "Improved since 2025: Exercise programs (4 → 5)." in html


def test_report_is_self_contained_and_prints(small_profile):
    p, status = small_profile
    html = report.render(p, status, GENERATED)
    assert html.startswith("<!doctype html>") and html.rstrip().endswith("</html>")
    assert_self_contained(html)
    assert "@media print" in html and "@page" in html and "break-inside" in html
    assert html.count("<svg") >= 2  # the maturity chart and the trend sparklines, drawn inline


def test_report_escapes_user_text(small_profile):
    p, status = small_profile
    html = report.render(p, status, GENERATED)
    assert "<script>alert" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "Pat &lt;Doe&gt;" in html and "Pat <Doe>" not in html


def test_report_carries_data_date_cycle_and_demo_label(small_profile):
    p, status = small_profile
    html = report.render(p, status, GENERATED)
    assert status["last_loaded"].strftime("%d %b %Y, %H:%M") in html
    assert "State profile 2026" in html and "Assessment cycle" in html
    assert report.DEMO_LABEL not in html  # the hand-built set is not synthetic
    demo_html = report.render(p, dict(status, is_demo=True), GENERATED)
    assert demo_html.count(report.DEMO_LABEL) >= 2  # on top and in the footer of every printed copy
    assert report.FACILITATIONS_LINE in html  # no exchanges passed: the neutral line


def test_report_only_for_viewers_with_detail(con):
    df = load_small(con)
    with pytest.raises(PermissionError):
        report.render(profile.build(df, "MD", 2026, VA_USER), queries.data_status(con))
    html = report.render(profile.build(df, "VA", 2026, VA_USER), queries.data_status(con))
    assert "MD recovery playbook" not in html  # another state's notes never reach a state user's report


def test_report_for_a_cycle_without_data(con):
    df = load_small(con)
    p = profile.build(df, "GU", 2026, LEAD)
    html = report.render(p, queries.data_status(con), GENERATED)
    assert "No self-assessment for 2026" in html and "latest self-assessment is from 2025" in html
    assert_same_numbers(html, p)


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    c = db.connect(tmp_path_factory.mktemp("demo") / "demo.duckdb")
    demo.write_demo(c)
    yield queries.assessments(c), queries.program_managers(c), queries.data_status(c)
    c.close()


def test_every_jurisdiction_report_matches_its_profile(demo_data):
    df, pms, status = demo_data
    latest = demo.DEMO_CYCLES[-1]
    for code in profile.state_options():
        p = profile.build(df, code, latest, LEAD, pms)
        html = report.render(p, status, GENERATED)
        assert_self_contained(html)
        assert_same_numbers(html, p)
        assert report.DEMO_LABEL in html and f"({code})" in html


def test_reports_for_the_first_cycle_late_joiners_and_territories(demo_data):
    df, pms, status = demo_data
    first = demo.DEMO_CYCLES[0]
    late = set(jurisdictions.codes()) - set(df.loc[df["cycle"] == first, "state"])
    assert late
    for code in sorted(late | {"AS", "GU", "MP", "PR", "VI"}):
        p = profile.build(df, code, first, LEAD, pms)
        html = report.render(p, status, GENERATED)
        assert_same_numbers(html, p)
        if code in late:
            assert not p.reported and f"No self-assessment for {first}" in html


def test_demo_other_areas_are_named(demo_data):
    df, pms, status = demo_data
    latest = demo.DEMO_CYCLES[-1]
    with_other = df[(df["cycle"] == latest) & (df["program_area"] == "other")]
    code, name = with_other[["state", "other_area"]].iloc[0]
    p = profile.build(df, code, latest, Viewer(auth.STATE, "s", (code,)), pms)
    html = report.render(p, status, GENERATED)
    assert f"Other: {name}" in html
