from shisn.domain import catalog


def test_nine_program_areas_with_bulletin_labels():
    assert catalog.AREA_SLUGS == (
        "regional_planning",
        "training",
        "exercises",
        "interoperability",
        "assessment_validation",
        "strategy",
        "prevention",
        "recovery",
        "other",
    )
    assert catalog.area_label("exercises") == "Exercise programs"
    assert catalog.area_label("interoperability") == "Communications and equipment interoperability"
    assert catalog.area_label("training").startswith("Training systems, including course development")


def test_area_found_by_slug_or_label_in_any_case():
    assert catalog.area_slug("EXERCISES") == "exercises"
    assert catalog.area_slug(" exercise programs ") == "exercises"
    assert catalog.area_slug("Prevention/Deterrence") == "prevention"
    assert catalog.area_slug("regional planning") == "regional_planning"
    assert catalog.area_slug("cooking") is None


def test_all_five_levels_are_defined():
    assert sorted(catalog.MATURITY_LEVELS) == [1, 2, 3, 4, 5]
    assert catalog.level_name(1) == "Not started"
    assert catalog.level_name(3) == "Established"
    assert catalog.level_name(5) == "Nationally leading"
    assert all(len(text) > 20 for _, text in catalog.MATURITY_LEVELS.values())


def test_strength_gap_bands():
    assert [catalog.band(m) for m in (1, 2, 3, 4, 5)] == ["gap", "gap", "established", "strength", "strength"]
    assert catalog.band(None) == "not reported"


def test_mentor_eligibility_needs_offer_and_maturity_four():
    assert catalog.mentor_ineligibility(True, 4) is None
    assert catalog.mentor_ineligibility(True, 5) is None
    assert "maturity 4 or higher" in catalog.mentor_ineligibility(True, 3)
    assert catalog.mentor_ineligibility(False, 5) == "does not offer help in this area"
