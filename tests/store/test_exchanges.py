"""Facilitated exchanges: the status machine, the append-only history, optimistic concurrency, who sees what, the
arc map data, TA referrals, the CSV export and the `exchanges` CLI."""

import datetime as dt
import itertools
import json
import subprocess
import sys
import threading

import duckdb
import pandas as pd
import pytest

from shisn import demo
from shisn.domain import auth, exchange_rules, jurisdictions, safe_text
from shisn.render import exchange_map
from shisn.services import exchange_export, exchanges
from shisn.store import db
from tests.support import ROOT

LEAD = auth.Viewer(auth.LEADERSHIP, "Lee Leader")
PATH = [
    exchange_rules.PROPOSED,
    exchange_rules.INTRODUCED,
    exchange_rules.IN_CONTACT,
    exchange_rules.HELD,
    exchange_rules.CLOSED,
]
_pairs = itertools.count()


def fresh_pair():
    """A mentor/mentee pair not used before in this test session (so no duplicate-exchange refusal)."""
    codes = jurisdictions.codes()
    k = next(_pairs)
    return codes[k % len(codes)], codes[(k // len(codes) + 1 + k) % len(codes)]


def at_status(con, status, by="Pat PM"):
    """A new exchange walked along the machine to `status`; returns (id, version)."""
    mentor, mentee = fresh_pair()
    while mentor == mentee:
        mentor, mentee = fresh_pair()
    ex = exchanges.open_exchange(con, mentor, mentee, ["exercises"], 2025, by)
    v = 1
    if status == exchange_rules.DECLINED:
        return ex, exchanges.transition(con, ex, exchange_rules.DECLINED, v, by)
    for s in PATH[1 : PATH.index(status) + 1]:
        v = exchanges.transition(con, ex, s, v, by, means="teleconference" if s == exchange_rules.HELD else None)
    return ex, v


def history_rows(con, ex):
    return (
        con.cursor().execute("SELECT * FROM exchange_history WHERE exchange_id = ? ORDER BY version", [ex]).fetchall()
    )


# --- status machine ------------------------------------------------------------------------------------------------


def test_allowed_transitions_are_exactly_the_bulletins_process():
    assert exchange_rules.TRANSITIONS == {
        "proposed": ("introduced", "declined"),
        "introduced": ("in_contact", "declined"),
        "in_contact": ("exchange_held", "declined"),
        "exchange_held": ("closed", "declined"),
        "closed": (),
        "declined": (),
    }


def test_the_happy_path_reaches_closed_and_stamps_each_status(con):
    ex, v = at_status(con, exchange_rules.CLOSED)
    row = exchanges.get(con, ex)
    assert row["status"] == exchange_rules.CLOSED and v == 5 and row["version"] == 5
    assert all(row[exchange_rules.STATUS_TIME[s]] is not None for s in PATH)
    assert row["declined_at"] is None


@pytest.mark.parametrize("current", exchange_rules.STATUSES)
def test_every_invalid_transition_is_rejected_with_a_clear_message_and_nothing_written(con, current):
    allowed = exchange_rules.TRANSITIONS[current]
    for target in exchange_rules.STATUSES:
        if target in allowed:
            continue
        ex, v = at_status(con, current)
        before = (exchanges.get(con, ex), history_rows(con, ex))
        with pytest.raises(exchanges.InvalidTransition) as e:
            exchanges.transition(con, ex, target, v, "Pat PM", means="teleconference")
        msg = str(e.value)
        assert f"exchange {ex}" in msg
        assert exchange_rules.status_label(current) in msg
        if allowed:
            for nxt in allowed:
                assert exchange_rules.status_label(nxt) in msg
        else:
            assert "final" in msg
        assert (exchanges.get(con, ex), history_rows(con, ex)) == before


def test_invalid_transition_message_names_current_and_next_statuses(con):
    ex, v = at_status(con, exchange_rules.PROPOSED)
    with pytest.raises(
        exchanges.InvalidTransition,
        match=r"cannot go from proposed to exchange held: it is proposed; it can move to: "
        r"introduced or declined",
    ):
        exchanges.transition(con, ex, "exchange held", v, "Pat PM", means="teleconference")


@pytest.mark.parametrize("current", exchange_rules.OPEN_STATUSES)
def test_any_open_status_can_be_declined(con, current):
    ex, v = at_status(con, current)
    assert exchanges.transition(con, ex, exchange_rules.DECLINED, v, "Pat PM") == v + 1
    assert exchanges.get(con, ex)["status"] == exchange_rules.DECLINED


def test_exchange_held_needs_the_means(con):
    ex, v = at_status(con, exchange_rules.IN_CONTACT)
    with pytest.raises(exchanges.ExchangeError, match="say how the states shared"):
        exchanges.transition(con, ex, exchange_rules.HELD, v, "Pat PM")
    assert exchanges.get(con, ex)["status"] == exchange_rules.IN_CONTACT
    assert exchanges.transition(con, ex, "exchange held", v, "Pat PM", means="on-site visit") == v + 1
    assert exchanges.get(con, ex)["means"] == "on_site_visit"


def test_means_chosen_earlier_counts_for_exchange_held(con):
    ex, v = at_status(con, exchange_rules.IN_CONTACT)
    v = exchanges.update(con, ex, v, "Pat PM", means="document_exchange")
    assert exchanges.transition(con, ex, exchange_rules.HELD, v, "Pat PM") == v + 1


def test_means_cannot_be_removed_once_held(con):
    ex, v = at_status(con, exchange_rules.HELD)
    with pytest.raises(exchanges.ExchangeError, match="cannot be removed"):
        exchanges.update(con, ex, v, "Pat PM", means=None)


def test_terminal_exchanges_keep_their_fields_but_take_an_outcome_note(con):
    ex, v = at_status(con, exchange_rules.CLOSED)
    with pytest.raises(exchanges.InvalidTransition, match="final"):
        exchanges.update(con, ex, v, "Pat PM", means="other")
    v2 = exchanges.update(con, ex, v, "Pat PM", outcome="Lessons: share the templates first.")
    assert v2 == v + 1 and exchanges.get(con, ex)["outcome"].startswith("Lessons")


def test_unknown_status_and_unknown_field_are_refused(con):
    ex, v = at_status(con, exchange_rules.PROPOSED)
    with pytest.raises(exchanges.InvalidTransition, match="not a status"):
        exchanges.transition(con, ex, "finished", v, "Pat PM")
    with pytest.raises(exchanges.ExchangeError, match="cannot set status_time"):
        exchanges.update(con, ex, v, "Pat PM", status_time="x")


def test_status_date_may_be_given_but_not_in_the_future_nor_before_the_previous_status(con):
    ex = exchanges.open_exchange(con, "VA", "MD", "exercises", 2025, "Pat PM", at=dt.datetime(2025, 3, 1, 9, 0))
    with pytest.raises(exchanges.ExchangeError, match="in the future"):
        exchanges.transition(con, ex, exchange_rules.INTRODUCED, 1, "Pat PM", at=dt.date.today() + dt.timedelta(days=2))
    with pytest.raises(exchanges.ExchangeError, match="before the exchange's previous status"):
        exchanges.transition(con, ex, exchange_rules.INTRODUCED, 1, "Pat PM", at=dt.date(2025, 2, 1))
    exchanges.transition(con, ex, exchange_rules.INTRODUCED, 1, "Pat PM", at=dt.date(2025, 3, 8))
    assert exchanges.get(con, ex)["introduced_at"] == dt.datetime(2025, 3, 8, 12, 0)


# --- opening -------------------------------------------------------------------------------------------------------


def test_open_exchange_validates_its_input(con):
    with pytest.raises(exchanges.ExchangeError, match="not one of the 56"):
        exchanges.open_exchange(con, "ZZ", "MD", ["exercises"], 2025, "Pat")
    with pytest.raises(exchanges.ExchangeError, match="two different states"):
        exchanges.open_exchange(con, "VA", "va", ["exercises"], 2025, "Pat")
    with pytest.raises(exchanges.ExchangeError, match="not a program area"):
        exchanges.open_exchange(con, "VA", "MD", ["juggling"], 2025, "Pat")
    with pytest.raises(exchanges.ExchangeError, match="at least one program area"):
        exchanges.open_exchange(con, "VA", "MD", [], 2025, "Pat")
    with pytest.raises(exchanges.ExchangeError, match="must be named"):
        exchanges.open_exchange(con, "VA", "MD", ["exercises"], 2025, " ")
    with pytest.raises(exchanges.ExchangeError, match="means 'carrier pigeon'"):
        exchanges.open_exchange(con, "VA", "MD", ["exercises"], 2025, "Pat", means="carrier pigeon")
    assert exchanges.list_exchanges(con, LEAD).empty


def test_open_exchange_accepts_names_labels_and_returns_the_id(con):
    ex = exchanges.open_exchange(
        con,
        "Virginia",
        "md",
        ["Exercise programs", "training"],
        2025,
        "Pat PM",
        means="teleconference",
        note="MD asked at the regional meeting.",
    )
    row = exchanges.get(con, ex)
    assert (row["mentor"], row["mentee"], row["program_areas"], row["status"], row["version"]) == (
        "VA",
        "MD",
        "training,exercises",
        "proposed",
        1,
    )
    assert row["created_by"] == "Pat PM" and row["means"] == "teleconference"


def test_the_same_open_pair_and_area_is_not_opened_twice(con):
    ex = exchanges.open_exchange(con, "VA", "MD", ["exercises"], 2025, "Pat PM")
    with pytest.raises(exchanges.Duplicate, match=f"already exchange {ex}") as e:
        exchanges.open_exchange(con, "VA", "MD", ["exercises", "training"], 2025, "Other PM")
    assert e.value.existing_id == ex
    exchanges.open_exchange(con, "VA", "MD", ["training"], 2025, "Other PM")  # another area is another exchange
    exchanges.transition(con, ex, exchange_rules.DECLINED, 1, "Pat PM")
    exchanges.open_exchange(con, "VA", "MD", ["exercises"], 2025, "Pat PM")  # a declined one does not block a new one


# --- history -------------------------------------------------------------------------------------------------------


def test_every_change_is_in_the_history_with_who_and_when(con):
    ex = exchanges.open_exchange(con, "VA", "MD", ["exercises"], 2025, "Ann", note="opened from the pairing")
    v = exchanges.transition(con, ex, exchange_rules.INTRODUCED, 1, "Bob", comment="call set up")
    v = exchanges.update(con, ex, v, "Cy", means="on_site_visit", planned_on=dt.date(2025, 6, 1))
    v = exchanges.update(con, ex, v, "Dee", status="in contact", outcome="first call went well")
    h = exchanges.history(con, ex)
    assert list(h["version"]) == [1, 2, 3, 4]
    assert list(h["changed_by"]) == ["Ann", "Bob", "Cy", "Dee"]
    assert h["changed_at"].notna().all()
    assert list(h["from_status"].fillna("-")) == ["-", "proposed", "introduced", "introduced"]
    assert list(h["to_status"]) == ["proposed", "introduced", "introduced", "in_contact"]
    assert list(h["comment"]) == ["opened from the pairing", "call set up", "", ""]
    changes = [json.loads(c) for c in h["changes"]]
    assert changes[2] == {"means": [None, "on_site_visit"], "planned_on": [None, "2025-06-01"]}
    assert changes[3]["status"] == ["introduced", "in_contact"]
    assert changes[3]["outcome"] == [None, "first call went well"]
    assert h["summary"].iloc[3] == "status introduced → in contact · outcome note added"


def test_history_is_append_only_earlier_rows_never_change(con):
    ex, v = at_status(con, exchange_rules.INTRODUCED)
    first = history_rows(con, ex)
    exchanges.update(con, ex, v, "Pat PM", outcome="note")
    after = history_rows(con, ex)
    assert after[: len(first)] == first and len(after) == len(first) + 1


def test_edits_keep_the_old_value_in_the_history(con):
    ex, v = at_status(con, exchange_rules.IN_CONTACT)
    v = exchanges.update(con, ex, v, "Ann", outcome="draft")
    exchanges.update(con, ex, v, "Bob", outcome="final text")
    last = json.loads(exchanges.history(con, ex)["changes"].iloc[-1])
    assert last == {"outcome": ["draft", "final text"]}


def test_saving_nothing_new_writes_nothing(con):
    ex, v = at_status(con, exchange_rules.PROPOSED)
    assert exchanges.update(con, ex, v, "Pat PM", means=None, outcome="") == v
    assert len(history_rows(con, ex)) == 1


# --- concurrency ---------------------------------------------------------------------------------------------------


def test_two_users_same_version_first_wins_second_gets_stale_edit_and_nothing_written(con):
    ex, v = at_status(con, exchange_rules.INTRODUCED)
    read_by_ann = exchanges.get(con, ex)["version"]
    read_by_bob = exchanges.get(con, ex)["version"]
    assert read_by_ann == read_by_bob == v
    exchanges.update(con, ex, read_by_ann, "Ann Example", status="in contact", comment="Ann's change")
    snapshot = (exchanges.get(con, ex), history_rows(con, ex))
    with pytest.raises(exchanges.StaleEdit) as e:
        exchanges.update(con, ex, read_by_bob, "Bob Example", outcome="Bob's note", status="declined")
    msg = str(e.value)
    assert msg.startswith(f"exchange {ex} was changed by Ann Example at ")
    assert msg.endswith("since you opened it: reload to see their change")
    assert e.value.changed_by == "Ann Example" and e.value.version == v + 1
    assert (exchanges.get(con, ex), history_rows(con, ex)) == snapshot
    # after reloading, Bob's change goes through on top of Ann's
    exchanges.update(con, ex, exchanges.get(con, ex)["version"], "Bob Example", outcome="Bob's note")
    row = exchanges.get(con, ex)
    assert row["status"] == exchange_rules.IN_CONTACT and row["outcome"] == "Bob's note"


def test_simultaneous_writers_from_threads_never_both_win(con):
    ex, _ = at_status(con, exchange_rules.PROPOSED)
    outcomes = []
    for _ in range(10):
        v = exchanges.get(con, ex)["version"]
        barrier = threading.Barrier(2)

        def worker(name):
            barrier.wait()
            try:
                exchanges.update(con, ex, v, name, comment=f"{name} at version {v}")
                outcomes.append("ok")
            except exchanges.StaleEdit:
                outcomes.append("stale")

        threads = [threading.Thread(target=worker, args=(n,)) for n in ("Ann", "Bob")]
        [t.start() for t in threads]
        [t.join() for t in threads]
    assert outcomes.count("ok") == 10 and outcomes.count("stale") == 10
    assert len(history_rows(con, ex)) == 11 and exchanges.get(con, ex)["version"] == 11


# --- who sees what -------------------------------------------------------------------------------------------------


@pytest.fixture
def network(con):
    exchanges.open_exchange(con, "VA", "MD", ["exercises"], 2025, "Pat PM")  # region III ↔ III
    exchanges.open_exchange(con, "CA", "NV", ["interoperability"], 2025, "Quinn PM")
    exchanges.open_exchange(con, "NY", "VA", ["prevention"], 2025, "Jo PM")  # VA as mentee
    exchanges.open_exchange(con, "TX", "NM", ["recovery"], 2025, "Sam PM")
    return con


def pairs(df):
    return sorted(zip(df["mentor"], df["mentee"]))


def test_leadership_sees_every_exchange(network):
    assert len(exchanges.list_exchanges(network, LEAD)) == 4


def test_program_manager_sees_only_exchanges_of_their_states(network):
    pm = auth.Viewer(auth.PROGRAM_MANAGER, "Pat PM", ("MD", "VA", "DC"))
    assert pairs(exchanges.list_exchanges(network, pm)) == [("NY", "VA"), ("VA", "MD")]
    assert pairs(exchanges.list_exchanges(network, auth.Viewer(auth.PROGRAM_MANAGER, "Nobody", ()))) == []


def test_state_user_sees_only_exchanges_its_state_takes_part_in(network):
    md = auth.Viewer(auth.STATE, "MD user", ("MD",))
    assert pairs(exchanges.list_exchanges(network, md)) == [("VA", "MD")]
    nm = auth.Viewer(auth.STATE, "NM user", ("NM",))
    assert pairs(exchanges.list_exchanges(network, nm)) == [("TX", "NM")]
    assert len(exchanges.arcs(network, md)) == 1 and exchanges.summary(network, md).total == 1


def test_only_leadership_and_the_states_pms_may_edit():
    pm = auth.Viewer(auth.PROGRAM_MANAGER, "Pat PM", ("MD",))
    assert exchange_rules.can_edit(LEAD, "CA", "NV")
    assert exchange_rules.can_edit(pm, "VA", "MD") and not exchange_rules.can_edit(pm, "CA", "NV")
    assert not exchange_rules.can_edit(auth.Viewer(auth.STATE, "MD user", ("MD",)), "VA", "MD")
    assert exchange_rules.can_open(pm) and not exchange_rules.can_open(auth.Viewer(auth.STATE, "MD user", ("MD",)))


# --- summary and map -----------------------------------------------------------------------------------------------


def test_summary_counts_and_median_days_to_first_contact(con):
    t0 = dt.datetime(2025, 1, 10, 9, 0)
    a = exchanges.open_exchange(con, "VA", "MD", ["exercises", "training"], 2025, "P", at=t0)
    b = exchanges.open_exchange(con, "CA", "NV", ["exercises"], 2025, "P", at=t0)
    exchanges.open_exchange(con, "TX", "NM", ["recovery"], 2025, "P", at=t0)  # still proposed: not in the median
    exchanges.transition(con, a, exchange_rules.INTRODUCED, 1, "P", at=t0 + dt.timedelta(days=4))
    v = exchanges.transition(con, b, exchange_rules.INTRODUCED, 1, "P", at=t0 + dt.timedelta(days=10))
    exchanges.transition(con, b, exchange_rules.DECLINED, v, "P")
    s = exchanges.summary(con, LEAD)
    assert s.total == 3 and s.open == 2
    assert dict(zip(s.by_status["status"], s.by_status["count"])) == {
        "proposed": 1,
        "introduced": 1,
        "in_contact": 0,
        "exchange_held": 0,
        "closed": 0,
        "declined": 1,
    }
    assert dict(zip(s.by_area["program_area"], s.by_area["count"])) == {"training": 1, "exercises": 2, "recovery": 1}
    assert dict(zip(s.by_region["label"], s.by_region["count"])) == {"Region III": 1, "Region VI": 1, "Region IX": 1}
    assert s.median_days_to_first_contact == 7.0  # (4 + 10) / 2
    assert s.introduced == 2 and s.awaiting_introduction == 1


def test_summary_of_nothing(con):
    s = exchanges.summary(con, LEAD)
    assert s.total == 0 and s.median_days_to_first_contact is None and s.by_area.empty


def test_arcs_one_row_per_exchange_and_area_at_the_label_points(con):
    exchanges.open_exchange(con, "VA", "MD", ["exercises", "training"], 2025, "P")
    exchanges.open_exchange(con, "HI", "GU", ["recovery"], 2025, "P")
    arcs = exchanges.arcs(con, LEAD)
    for c in ["mentor", "mentee", "program_area", "status", "mentor_lon", "mentor_lat", "mentee_lon", "mentee_lat"]:
        assert c in arcs.columns
    assert len(arcs) == 3
    props = {f["properties"]["code"]: f["properties"] for f in jurisdictions.geojson()["features"]}
    r = arcs[arcs["mentor"] == "HI"].iloc[0]
    assert (r["mentor_lon"], r["mentor_lat"]) == (props["HI"]["label_lon"], props["HI"]["label_lat"])
    assert (r["mentee_lon"], r["mentee_lat"]) == (props["GU"]["label_lon"], props["GU"]["label_lat"])
    assert exchanges.arcs(con, auth.Viewer(auth.STATE, "x", ("TX",))).empty


def test_arc_deck_has_no_basemap_and_draws_the_states_and_arcs(con):
    exchanges.open_exchange(con, "VA", "MD", ["exercises"], 2025, "P")
    deck = exchange_map.arc_deck(exchanges.arcs(con, LEAD))
    spec = json.loads(deck.to_json())
    assert deck.map_provider is None and not spec.get("mapProvider")
    types = [layer["@@type"] for layer in spec["layers"]]
    assert types[:2] == ["GeoJsonLayer", "ArcLayer"]
    assert "http" not in deck.to_json()  # nothing to fetch: no tiles, no fonts, no icons


# --- TA referrals --------------------------------------------------------------------------------------------------


def test_refer_to_ta_records_the_need_once(con):
    rid = exchanges.refer_to_ta(con, "GU", "interoperability", 2025, "no eligible mentor", "Lee Leader")
    assert exchanges.refer_to_ta(con, "gu", "Interoperability", 2025, "asked again", "Someone else") == rid
    refs = exchanges.ta_referrals(con, LEAD)
    assert len(refs) == 1
    r = refs.iloc[0]
    assert (r["state"], r["program_area"], r["cycle"], r["reason"], r["referred_by"]) == (
        "GU",
        "interoperability",
        2025,
        "no eligible mentor",
        "Lee Leader",
    )
    assert pd.notna(r["referred_at"])
    assert exchanges.refer_to_ta(con, "GU", "interoperability", 2026, "next cycle", "Lee Leader") != rid


def test_refer_to_ta_validates(con):
    with pytest.raises(exchanges.ExchangeError, match="say why"):
        exchanges.refer_to_ta(con, "GU", "recovery", 2025, "  ", "Lee")
    with pytest.raises(exchanges.ExchangeError, match="not a program area"):
        exchanges.refer_to_ta(con, "GU", "nope", 2025, "why", "Lee")
    assert exchanges.ta_referrals(con, LEAD).empty


def test_referrals_are_scoped_like_exchanges(con):
    exchanges.refer_to_ta(con, "GU", "recovery", 2025, "r", "Lee")
    exchanges.refer_to_ta(con, "MD", "recovery", 2025, "r", "Lee")
    assert list(exchanges.ta_referrals(con, auth.Viewer(auth.STATE, "x", ("MD",)))["state"]) == ["MD"]
    assert list(exchanges.ta_referrals(con, auth.Viewer(auth.PROGRAM_MANAGER, "x", ("GU", "HI")))["state"]) == ["GU"]


# --- export --------------------------------------------------------------------------------------------------------


def test_safe_csv_neutralises_formula_cells():
    df = pd.DataFrame(
        {"outcome": ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "plain", None], "n": [1, 2, 3, 4, 5, 6]}
    )
    text = safe_text.csv_file(df).decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[1].startswith("\"'=HYPERLINK") and lines[2] == "'+1,2" and lines[3] == "'-2,3"
    assert lines[4] == "'@SUM(A1),4" and lines[5] == "plain,5"


def test_export_frame_columns_and_values(con):
    ex = exchanges.open_exchange(con, "VA", "MD", ["exercises", "training"], 2025, "P", at=dt.datetime(2025, 1, 1, 8))
    exchanges.transition(con, ex, exchange_rules.INTRODUCED, 1, "P", at=dt.datetime(2025, 1, 5, 8), comment="x")
    out = exchange_export.export_frame(con)
    assert list(out.columns) == [
        "id",
        "mentor",
        "mentee",
        "program_areas",
        "status",
        "means",
        "proposed_at",
        "first_contact_at",
        "updated_at",
        "outcome",
        "mentor_useful",
        "mentor_what_changed",
        "mentor_differently",
        "mentee_useful",
        "mentee_what_changed",
        "mentee_differently",
    ]
    r = out.iloc[0]
    assert (r["id"], r["program_areas"], r["status"], r["proposed_at"], r["first_contact_at"]) == (
        ex,
        "training;exercises",
        "introduced",
        "2025-01-01 08:00:00",
        "2025-01-05 08:00:00",
    )


# --- demo ----------------------------------------------------------------------------------------------------------


def test_demo_exchanges_are_flagged_synthetic_cover_the_statuses_and_run_once(con):
    demo.write_demo(con)  # seeds the demo exchanges too
    df = exchanges.list_exchanges(con, LEAD)
    ids = list(df["exchange_id"])
    latest = df[df["cycle"] == df["cycle"].max()]
    assert 6 <= len(latest) <= 10  # the latest cycle's hand-written set; earlier cycles' exchanges are closed or
    assert set(df.loc[df["cycle"] < df["cycle"].max(), "status"]) <= {
        exchange_rules.CLOSED,
        exchange_rules.DECLINED,
    }  # declined
    assert df["cycle"].nunique() >= 3 and len(ids) > len(latest)
    assert df["synthetic"].all() and (df["created_by"] == demo.DEMO_USER).all()
    assert set(df["status"]) == set(exchange_rules.STATUSES)
    assert exchanges.ta_referrals(con, LEAD)["synthetic"].all()
    assert demo.demo_exchanges(con) == [] and len(exchanges.list_exchanges(con, LEAD)) == len(ids)


# --- schema --------------------------------------------------------------------------------------------------------


def test_a_version_1_store_is_upgraded_and_keeps_its_data(tmp_path):
    path = tmp_path / "old.duckdb"
    raw = duckdb.connect(str(path))
    raw.execute(db.MIGRATIONS[0])
    raw.execute("INSERT INTO schema_version VALUES (1)")
    raw.execute("INSERT INTO program_managers VALUES ('VA', 'Old PM', 'old@example.org')")
    raw.close()
    con = db.connect(path)
    try:
        assert db.schema_version(con) == db.SCHEMA_VERSION >= 2
        assert con.cursor().execute("SELECT name FROM program_managers").fetchall() == [("Old PM",)]
        assert exchanges.open_exchange(con, "VA", "MD", ["exercises"], 2025, "P") == 1
    finally:
        con.close()


# --- CLI -----------------------------------------------------------------------------------------------------------


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "shisn", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_cli_exchanges_csv_and_json(db_file):
    con = db.connect(db_file)
    ex = exchanges.open_exchange(con, "VA", "MD", ["exercises"], 2025, "Pat PM", at=dt.datetime(2025, 2, 1, 10))
    exchanges.transition(con, ex, exchange_rules.INTRODUCED, 1, "Pat PM", at=dt.datetime(2025, 2, 3, 10))
    exchanges.open_exchange(con, "CA", "NV", ["interoperability", "training"], 2025, "Quinn PM")
    exchanges.update(con, 2, 1, "Quinn PM", outcome="=cmd|' /C calc'!A0")
    con.close()
    r = run("exchanges", "--db", db_file, "--format", "csv")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == (
        "id,mentor,mentee,program_areas,status,means,proposed_at,first_contact_at,updated_at,outcome,"
        "mentor_useful,mentor_what_changed,mentor_differently,mentee_useful,mentee_what_changed,"
        "mentee_differently"
    )
    assert lines[1].startswith("1,VA,MD,exercises,introduced,,2025-02-01 10:00:00,2025-02-03 10:00:00,")
    assert lines[2].startswith("2,CA,NV,training;interoperability,proposed,,")
    r = run("exchanges", "--db", db_file, "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert [d["id"] for d in data] == [1, 2]
    assert data[0]["first_contact_at"] == "2025-02-03 10:00:00" and data[1]["first_contact_at"] is None
    assert data[1]["outcome"] == "=cmd|' /C calc'!A0"


def test_cli_exchanges_on_an_empty_store_prints_the_header(db_file):
    r = run("exchanges", "--db", db_file)
    assert r.returncode == 0 and r.stdout.strip() == ",".join(exchange_export.EXPORT_COLUMNS)


def test_declining_refers_the_mentees_need_in_each_area_once_and_only_when_declined(con):
    ex = exchanges.open_exchange(con, "VA", "MD", ["exercises", "training"], 2025, "Pat PM")
    with pytest.raises(exchanges.ExchangeError, match="not declined"):
        exchanges.refer_declined(con, ex, "Pat PM")
    assert exchanges.ta_referrals(con, None).empty
    exchanges.update(con, ex, 1, "Pat PM", status=exchange_rules.DECLINED)
    ids = exchanges.refer_declined(con, ex, "Pat PM")
    refs = exchanges.ta_referrals(con, None)
    assert len(ids) == 2 and sorted(refs["program_area"]) == ["exercises", "training"]
    assert set(refs["state"]) == {"MD"} and (refs["reason"] == f"exchange {ex} with VA was declined").all()
    assert exchanges.refer_declined(con, ex, "Lee Leader") == ids  # a need already referred keeps its referral
