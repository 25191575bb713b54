"""shisn.domain.selection: URL values and chart events become one selection; the panels a click opens show the right
state and area, eligible mentors only (ranked by the pairing's score), and never another state's notes to a viewer
who may not see them."""

import re

import pandas as pd
import pytest

from shisn.domain import (
    auth,
    catalog,
    coverage,
    jurisdictions,
    pairing,
    pairing_tables,
    profile,
    selection,
)
from shisn.render import charts, maps
from tests.support import static_tables


def rows():
    """One cycle: MT seeks help in interoperability (1); WY and ND can mentor there (5, 4); SD offers at 3 (cannot);
    NJ (4) is rated above MT too but does not offer."""
    data = [
        ("MT", "interoperability", 1, False, True, "MT's own note"),
        ("WY", "interoperability", 5, True, False, "WY secret"),
        ("ND", "interoperability", 4, True, False, ""),
        ("SD", "interoperability", 3, True, False, ""),
        ("NJ", "interoperability", 4, False, False, ""),
        ("MT", "exercises", 4, True, False, ""),
        ("ND", "exercises", 2, False, True, ""),
    ]
    df = pd.DataFrame(data, columns=["state", "program_area", "maturity", "offers_help", "seeks_help", "notes"])
    df["cycle"] = 2026
    df["other_area"] = None
    jur = jurisdictions.jurisdictions()[["code", "name", "fema_region", "region_label"]]
    df = df.merge(jur, left_on="state", right_on="code").drop(columns="code")
    df["maturity"] = df["maturity"].astype("Int64")
    df["eligible_mentor"] = df["offers_help"] & (df["maturity"] >= catalog.MENTOR_MIN)
    df["offer_note"] = [
        catalog.mentor_ineligibility(o, int(m)) if o else None for o, m in zip(df["offers_help"], df["maturity"])
    ]
    return df


def test_url_values_are_canonical_or_nothing():
    assert selection.Selection.from_params(
        {"selected_state": "montana", "selected_area": "Exercise programs"}
    ) == selection.Selection("MT", "exercises")
    assert (
        selection.Selection.from_params({"selected_state": "<script>", "selected_area": "nope"})
        == selection.Selection()
    )
    assert selection.Selection("MT", None).params() == {"selected_state": "MT", "selected_area": None}
    assert selection.parse_pair("va-md-exercises") == ("VA", "MD", "exercises")
    assert selection.parse_pair("VA-VA-exercises") is None and selection.parse_pair("VA-MD") is None
    assert selection.parse_pair("XX-MD-exercises") is None


def test_a_map_click_selects_the_feature_it_picked():
    event = {
        "selection": {
            "indices": {"targets": [26]},
            "objects": {"targets": [{"type": "Feature", "properties": {"code": "MT", "tip": "x"}}]},
        }
    }
    assert selection.from_map_event(event) == "MT"
    codes = list(jurisdictions.codes())
    assert (
        selection.from_map_event({"selection": {"indices": {"targets": [3]}, "objects": {}}}, codes=codes) == codes[3]
    )
    assert selection.from_map_event({"selection": {"indices": {}, "objects": {}}}) is None  # nothing picked
    assert selection.from_map_event(None) is None


def test_the_map_click_target_is_every_jurisdiction_on_the_pickable_layer(monkeypatch):
    values = coverage.state_values(rows())
    deck = maps.coverage_deck(jurisdictions.geojson(), values, selected="MT")
    layers = {layer.id: layer for layer in deck.layers}
    target = layers[selection.MAP_LAYER]
    assert target.pickable and not layers["jurisdictions"].pickable
    assert isinstance(target.data, list) and len(target.data) == 56  # a list: Streamlit keeps the index
    assert {f["properties"]["code"] for f in target.data} == set(jurisdictions.codes())
    assert [f["properties"]["code"] for f in layers["selected"].data["features"]] == ["MT"]


def test_a_heatmap_click_reads_the_cells_state_and_area():
    df = rows()
    m = coverage.maturity_matrix(coverage.redact_notes(df, lambda s: True))
    fig = charts.jurisdiction_heatmap(
        m,
        jurisdictions.names(),
        coverage.cell_details(coverage.redact_notes(df, lambda s: True), m),
        selected=("MT", "interoperability"),
    )
    cells = next(t for t in fig.data if t.name == "cells")
    i = list(cells.customdata[:, 0]).index("MT") + list(m.columns).index("interoperability")
    assert list(cells.customdata[i]) == ["MT", "interoperability"] and "Montana" in cells.y[i]
    point = {
        "curve_number": 2,
        "point_index": i,
        "x": cells.x[i],
        "y": cells.y[i],
        "customdata": list(cells.customdata[i]),
    }
    assert selection.from_heatmap_event({"selection": {"points": [point]}}) == ("MT", "interoperability")
    assert selection.from_heatmap_event({"selection": {"points": []}}) is None
    # greyscale markers: MT seeks (ring), WY can mentor (dot), not colour alone
    marks = pd.DataFrame(
        charts.cell_marks(coverage.cell_details(coverage.redact_notes(df, lambda s: True), m).to_numpy()).reshape(
            m.shape
        ),
        index=m.index,
        columns=m.columns,
    )
    assert marks.loc["MT", "interoperability"] == "seeks" and marks.loc["WY", "interoperability"] == "offers"
    assert marks.loc["SD", "interoperability"] == ""  # an offer below 4 is not a mentor
    assert {t.name for t in fig.data} >= {charts.MENTOR_LABEL, charts.SEEKS_LABEL}
    assert any(s.type == "rect" and s.line.width == 3 for s in fig.layout.shapes)  # the selected cell


def test_a_bar_click_reads_the_area():
    sd = coverage.supply_demand(rows())
    fig = charts.supply_demand_bars(sd, selected="exercises")
    assert list(fig.data[0].customdata) == list(sd["program_area"])
    labels = dict(zip(sd["label"], sd["program_area"]))
    assert selection.from_bars_event({"selection": {"points": [{"customdata": "exercises"}]}}) == "exercises"
    assert (
        selection.from_bars_event({"selection": {"points": [{"y": catalog.area_short("training")}]}}, labels)
        == "training"
    )


def test_an_arc_click_reads_its_pair_and_finds_its_row():
    result = pairing.suggest(rows()[["state", "program_area", "maturity", "offers_help", "seeks_help", "cycle"]])
    pairs = result.pairs
    keys = selection.pair_keys(pairs)
    arcs = pairing_tables.arcs(pairs)
    assert list(arcs["pair"]) == keys
    deck = maps.arc_deck(arcs, selected=keys[0])
    layers = {layer.id: layer for layer in deck.layers}
    assert layers[selection.ARC_LAYER].pickable and [d["pair"] for d in layers["selected-arc"].data] == [keys[0]]
    event = {"selection": {"indices": {"arcs": [0]}, "objects": {"arcs": [{"pair": keys[0]}]}}}
    assert selection.from_arc_event(event, keys) == keys[0]
    assert selection.pair_row(pairs, keys[0].lower()) == 0 and selection.pair_row(pairs, "AK-HI-training") is None


def test_cell_panel_lists_only_eligible_mentors_ranked_by_the_pairing_score():
    df = rows()
    p = selection.cell_panel(df, "MT", "interoperability", 2026, can_see=lambda s: s == "MT")
    assert (p.state, p.area, p.maturity, p.role) == ("MT", "interoperability", 1, "seeks")
    assert p.note == "MT's own note"
    assert set(p.mentors["partner"]) == {"WY", "ND"}
    assert "SD" not in set(p.mentors["partner"]) and "NJ" not in set(p.mentors["partner"])
    assert list(p.mentors["score"]) == sorted(p.mentors["score"], reverse=True)
    cands = pairing.candidates(df[profile.PAIRING_INPUT])
    best = cands[(cands["mentee"] == "MT") & (cands["program_area"] == "interoperability")]
    assert dict(zip(p.mentors["partner"], p.mentors["score"])) == dict(zip(best["mentor"], best["score"]))
    table = selection.partner_table(p.mentors)
    assert list(table.columns)[:5] == ["State", "Jurisdiction", "Maturity", "Score", "Why"]
    assert "Notes" not in table.columns  # WY's note is not the viewer's to see


def test_cell_panel_of_a_mentor_lists_the_states_it_could_mentor():
    p = selection.cell_panel(rows(), "MT", "exercises", 2026)
    assert p.role == "offers" and list(p.mentees["partner"]) == ["ND"] and p.mentors.empty
    assert p.note is None  # not visible to this viewer


def test_state_panel_shows_ratings_offers_and_needs():
    df = rows()
    p = selection.state_panel(df, "MT", None, can_see=lambda s: False)
    assert list(p.ratings["Program area"]) == ["Exercises", "Interoperability"]
    assert "Notes" not in p.ratings.columns and p.can_mentor == ["Exercises"]
    assert p.needs.to_dict("records") == [{"Program area": "Interoperability", "Maturity": 1, "Eligible mentors": 2}]
    one = selection.state_panel(df, "MT", "exercises", can_see=lambda s: True)
    assert list(one.ratings["Program area"]) == ["Exercises"] and "Notes" in one.ratings.columns
    assert one.needs.empty
    assert not selection.state_panel(df, "TX").reported


def test_area_panel_lists_mentors_and_seekers_behind_the_bars():
    p = selection.area_panel(rows(), "interoperability")
    assert list(p.mentors["State"]) == ["WY", "ND"]  # eligible only, strongest first
    assert p.seekers.to_dict("records")[0]["State"] == "MT"
    assert p.seekers.to_dict("records")[0]["Eligible mentors"] == 2
    assert selection.area_panel(rows(), "interoperability", region=2).mentors.empty  # Region II: none of them


@pytest.mark.parametrize(
    "role, states, allowed",
    [
        (auth.LEADERSHIP, (), True),
        (auth.PROGRAM_MANAGER, ("MT",), True),
        (auth.PROGRAM_MANAGER, ("TX",), False),
        (auth.STATE, ("MT",), False),
    ],
)
def test_only_leadership_and_the_pairs_program_managers_may_open_an_exchange(role, states, allowed):
    assert selection.may_open_exchange(auth.Viewer(role, "someone", states), "WY", "MT") is allowed


def test_cell_panel_carries_the_data_quality_flags_of_that_state_and_area():
    df = rows()
    df.loc[(df["state"] == "WY") & (df["program_area"] == "interoperability"), "seeks_help"] = True  # seeks at 5
    for c in catalog.POETE:
        df[c] = pd.array([None] * len(df), dtype="Int64")
    p = selection.cell_panel(df, "WY", "interoperability", 2026)
    assert p.flags is not None and len(p.flags) >= 1
    assert any("5" in t for t in p.flags["Flag"].tolist() + p.flags["Explanation"].tolist())
    nd = selection.cell_panel(df, "ND", "interoperability", 2026).flags  # only whole-assessment flags for ND here
    assert not nd["Flag"].str.contains("5").any() and nd["Flag"].str.contains("eight named areas").all()


# --- the national page opened on a shared link with a selection (AppTest) --------------------------------------


@pytest.fixture(scope="module")
def demo_store(demo_template, tmp_path_factory):
    from shisn.store import db, queries
    from tests.support import demo_copy_in_env

    with demo_copy_in_env(demo_template, tmp_path_factory.mktemp("selection")) as path:
        con = db.connect(path)
        pms = queries.program_managers(con)
        con.close()
        yield pms


def national(query, role=auth.LEADERSHIP, **state):
    """The national page inside the whole app (demo role switcher), opened with URL `query`."""
    from streamlit.testing.v1 import AppTest

    from tests.support import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.session_state["demo_role"] = role
    for k, v in state.items():
        at.session_state[k] = v
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    if not any(t.value == "National coverage" for t in at.title):  # another landing page for this role
        at.switch_page("pages/national.py")
        for k, v in query.items():
            at.query_params[k] = v
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_shared_link_opens_the_cell_selected_in_canonical_form(demo_store):
    at = national({"view": "Strengths and gaps", "selected_state": "montana", "selected_area": "Interoperability"})
    # the select boxes' panel opens closed; its label says what is selected
    assert any("Montana (MT) · Interoperability" in e.label for e in at.expander)
    assert not at.get("selectbox")
    at = national(
        {"view": "Strengths and gaps", "selected_state": "montana", "selected_area": "Interoperability"},
        pick_open=True,
        exchange_action_open=True,
    )  # the panel and "open an exchange" opened
    assert at.query_params["selected_state"] == "MT" and at.query_params["selected_area"] == "interoperability"
    assert at.selectbox(key="_pick_selected_state").value == "MT"
    assert at.selectbox(key="_pick_selected_area").value == "interoperability"
    assert any(m.value.startswith("### Montana (MT) · Interoperability") for m in at.markdown)
    assert at.button(key="ex_open_MT_interoperability")  # leadership may open an exchange


def test_choosing_in_the_select_box_is_the_same_selection_as_a_click(demo_store):
    at = national({}, pick_open=True)
    assert "selected_state" not in at.query_params
    at.selectbox(key="_pick_selected_state").set_value("WY").run()
    assert at.query_params["selected_state"] == "WY"
    assert any(m.value.startswith("### Wyoming (WY)") for m in at.markdown)
    assert at.session_state["_shisn_selection_gen"] == 1  # the map starts afresh (its own selection cleared)
    at.selectbox(key="_pick_selected_state").set_value(None).run()
    assert "selected_state" not in at.query_params and not any(
        re.match(r"### .* \([A-Z]{2}\)", m.value) for m in at.markdown
    )


def test_a_program_manager_sees_other_states_notes_blank_and_no_exchange_button_for_others(demo_store):
    pms = demo_store
    name = sorted(pms["name"].unique())[0]
    mine = sorted(pms.loc[pms["name"] == name, "state"])
    other = next(c for c in jurisdictions.codes() if c not in mine)
    at = national({"selected_state": other}, auth.PROGRAM_MANAGER, demo_pm=name)
    assert any(m.value.startswith(f"### {jurisdictions.names()[other]} ({other})") for m in at.markdown)
    assert all("Notes" not in t.columns for t in static_tables(at))  # not the PM's state: no notes column
    at = national(
        {"view": "Strengths and gaps", "selected_state": other, "selected_area": "exercises"},
        auth.PROGRAM_MANAGER,
        demo_pm=name,
    )
    for t in static_tables(at):
        if "Score" in t.columns:  # mentors / mentees: only the PM's own states may carry notes
            assert "Notes" not in t.columns or set(t.loc[t["Notes"] != "", "State"]) <= set(mine)
    assert not [b for b in at.button if b.label == "Open an exchange"] or any(
        c in mine for t in static_tables(at) if "Score" in t.columns for c in t["State"]
    )
