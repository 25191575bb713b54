"""The synthetic demo data set: complete, plausible, reproducible, and flagged as demo."""

import pandas as pd

from shisn import demo
from shisn.domain import catalog
from shisn.store import queries


def test_demo_covers_all_jurisdictions_areas_and_three_or_more_cycles():
    df = demo.generate(seed=1)
    assert df["state"].nunique() == 56
    assert set(df["program_area"]) == set(catalog.AREA_SLUGS)
    assert df["cycle"].nunique() >= 3
    latest = df[df["cycle"] == df["cycle"].max()]
    assert latest["state"].nunique() == 56


def test_demo_is_reproducible_by_seed():
    pd.testing.assert_frame_equal(demo.generate(seed=3), demo.generate(seed=3))
    assert not demo.generate(seed=3).equals(demo.generate(seed=4))


def test_demo_has_strengths_gaps_offers_and_needs():
    df = demo.generate()
    latest = df[df["cycle"] == df["cycle"].max()]
    assert set(latest["maturity"]) == {1, 2, 3, 4, 5}
    eligible = latest[(latest["offers_help"] == "yes") & (latest["maturity"] >= 4)]
    seekers = latest[latest["seeks_help"] == "yes"]
    assert len(eligible) > 50 and len(seekers) > 50
    # larger states are, on average, more mature (a plausible pattern the views can show)
    big = latest[latest["state"].isin(["CA", "TX", "NY", "FL"])]["maturity"].mean()
    small = latest[latest["state"].isin(["AS", "MP", "GU", "VI"])]["maturity"].mean()
    assert big > small


def test_first_start_seeds_demo_once_and_labels_it(con):
    assert demo.ensure_seeded(con) is not None
    assert demo.ensure_seeded(con) is None  # only on an empty store
    status = queries.data_status(con)
    assert status["all_demo"] and status["rows"] > 1000
    assert len(queries.program_managers(con)) == 56
