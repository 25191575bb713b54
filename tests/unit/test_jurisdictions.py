from shisn.domain import jurisdictions


def test_fifty_six_reporting_jurisdictions():
    df = jurisdictions.jurisdictions()
    assert len(df) == 56
    assert df["code"].is_unique
    assert set(df["kind"]) == {"state", "district", "territory"}
    assert (df["kind"] == "state").sum() == 50
    assert set(df.loc[df["kind"] == "territory", "code"]) == {"PR", "GU", "VI", "AS", "MP"}


def test_fema_regions():
    r = jurisdictions.regions()
    assert set(r.values()) == set(range(1, 11))
    assert r["VA"] == r["MD"] == r["DC"] == r["PA"] == 3
    assert r["NY"] == r["NJ"] == r["PR"] == r["VI"] == 2
    assert r["CA"] == r["HI"] == r["GU"] == r["AS"] == r["MP"] == 9
    assert r["AK"] == r["WA"] == 10
    assert r["ME"] == 1 and r["TX"] == 6 and r["IA"] == 7 and r["CO"] == 8 and r["OH"] == 5 and r["FL"] == 4
    assert jurisdictions.region_label(3) == "Region III"


def test_census_2020_populations():
    p = jurisdictions.populations()
    assert p["CA"] == 39_538_223 and p["WY"] == 576_851 and p["PR"] == 3_285_874
    fifty_plus_dc = sum(v for k, v in p.items() if k not in {"PR", "GU", "VI", "AS", "MP"})
    assert fifty_plus_dc == 331_449_281  # 2020 Census resident population of the 50 states and DC


def test_state_lookup_by_code_or_name_any_case():
    assert jurisdictions.state_code("va") == "VA"
    assert jurisdictions.state_code(" Virginia ") == "VA"
    assert jurisdictions.state_code("WASHINGTON") == "WA"
    assert jurisdictions.state_code("Washington, D.C.".replace(",", "")) == "DC"
    assert jurisdictions.state_code("U.S. Virgin Islands") == "VI"
    assert jurisdictions.state_code("Northern Mariana Islands") == "MP"
    assert jurisdictions.state_code("Atlantis") is None


def test_borders_are_derived_from_geometry():
    assert jurisdictions.share_border("VA", "MD")
    assert jurisdictions.share_border("MD", "VA")
    assert jurisdictions.share_border("VA", "DC")
    assert jurisdictions.share_border("NY", "NJ")
    assert not jurisdictions.share_border("AZ", "CO")  # Four Corners: a point, not a border
    for island in ("HI", "AK", "PR", "VI", "GU", "AS", "MP"):
        assert jurisdictions.neighbours(island) == [], island
    assert set(jurisdictions.neighbours("VA")) == {"DC", "KY", "MD", "NC", "TN", "WV"}
