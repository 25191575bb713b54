"""shisn.domain.search: a user's words find the offers and practices they mean, despite typos, half-typed words,
plurals and accents; titles count most; state names and program areas are words too; the filters narrow; every
word must match unless nothing matches them all; ties come out in the same order every time; odd queries never
crash."""

import math
import pickle
import time

import numpy as np
import pandas as pd
import pytest

from shisn.domain import search

COLUMNS = ["kind", "id", "state", "state_name", "program_area", "region", "formats", "title", "text"]
ROWS = [
    ("offer", 1, "VA", "Virginia", "exercises", 3, "teleconference,on_site_visit", "HSEEP tabletop exercise design",
     "We teach exercise planning with HSEEP templates, evaluator training and after-action reports."),
    ("offer", 2, "MD", "Maryland", "interoperability", 3, "on_site_visit", "Statewide radio cache deployment",
     "Interoperability of P25 radios across counties; the cache is staged in four warehouses."),
    ("practice", 3, "TX", "Texas", "prevention", 6, "", "Fusion center analyst exchange",
     "Analysts from the fusion center rotate through sheriffs' offices to share suspicious activity reports."),
    ("practice", 4, "CA", "California", "recovery", 9, "", "Debris removal contracts after wildfires",
     "Pre-negotiated contracts sped up debris removal and housing."),
    ("offer", 5, "NY", "New York", "training", 2, "document_exchange", "Incident command course for county staff",
     "Our curriculum institutionalizes ICS instruction for county staff."),
    ("offer", 6, "WA", "Washington", "interoperability", 10, "teleconference", "Interoperability governance charter",
     "How the SWIC and a statewide board govern shared channels."),
    ("practice", 7, "FL", "Florida", "regional_planning", 4, "", "Mutual aid agreements with neighbours",
     "EMAC requests were filled within hours thanks to pre-signed agreements."),
    ("offer", 8, "OH", "Ohio", "exercises", 5, "teleconference", "Full-scale drill evaluation",
     "Evaluators score each exercise; every exercise objective is tied to an exercise evaluation guide."),
    ("practice", 9, "PR", "Puerto Rico", "recovery", 2, "", "Hurricane shelter staffing",
     "Shelters were staffed by trained volunteers while crews cleared debris."),
    ("offer", 10, "AK", "Alaska", "strategy", 10, "other", "Strategy workshop for tribal partners",
     "Résumé of the café-style strategy sessions held with tribal governments."),
    ("practice", 11, "ND", "North Dakota", "other", math.nan, "", "Cross-border rail security",
     "Rail operators and the province exchange manifests."),
    # four entries with the same words: their scores tie for "cyber"
    ("practice", 15, "AL", "Alabama", "strategy", 4, "", "Cyber incident reporting portal",
     "One portal for every cyber incident."),
    ("offer", 16, "DE", "Delaware", "strategy", 3, "", "Cyber incident reporting portal",
     "One portal for every cyber incident."),
    ("offer", 14, "DE", "Delaware", "strategy", 3, "", "Cyber incident reporting portal",
     "One portal for every cyber incident."),
    ("offer", 13, "MT", "Montana", "strategy", 8, "", "Cyber incident reporting portal",
     "One portal for every cyber incident."),
]  # fmt: skip


def entries() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=COLUMNS)


@pytest.fixture(scope="module")
def index() -> search.Index:
    return search.Index.build(entries())


def ids(result: pd.DataFrame) -> list[int]:
    return [int(i) for i in result["id"]]


def matched(result: pd.DataFrame, entry_id: int) -> str:
    return result.loc[result["id"] == entry_id, "matched"].iloc[0]


# --- words ------------------------------------------------------------------------------------------------------------


def test_the_stemmer_is_the_same_for_every_form_of_a_word():
    assert {search.stem(w) for w in ("exercise", "exercises", "exercised", "exercising")} == {"exercis"}
    assert search.stem("agencies") == search.stem("agency")
    assert search.stem("planning") == search.stem("planned") == search.stem("plan")
    assert search.stem("analysis") == "analysis" and search.stem("status") == "status"  # not plurals
    assert search.tokenize("The Tabletop Exercises, of Café-style!") == ["tabletop", "exercis", "caf", "styl"]


def test_edit_distance_counts_swaps_as_one_and_stops_at_the_limit():
    assert search.edit_distance("tabeltop", "tabletop") == 1
    assert search.edit_distance("excercise", "exercise") == 1
    assert search.edit_distance("radio", "ratio") == 1
    assert search.edit_distance("abcdef", "ghijkl", limit=2) == 3


# --- finding ----------------------------------------------------------------------------------------------------------


def test_an_exact_word_finds_its_entry_and_only_it(index):
    r = index.search("tabletop")
    assert ids(r) == [1]
    assert matched(r, 1) == "tabletop"
    assert list(r.columns) == COLUMNS + ["score", "matched"]
    assert r["score"].iloc[0] > 0


def test_plurals_and_other_forms_find_the_word(index):
    assert ids(index.search("radio ")) == [2]  # the entry says "radio" and "radios"
    assert 4 in ids(index.search("removals "))
    assert ids(index.search("exercising ")) == ids(index.search("exercise "))


def test_a_typo_still_finds_it_and_says_what_it_matched(index):
    r = index.search("excercise ")
    assert set(ids(r)) == {1, 8}
    assert matched(r, 1) == "excercise→exercise"
    r = index.search("interoperabilty ")
    assert set(ids(r)) == {2, 6}
    assert matched(r, 6) == "interoperabilty→interoperability"
    assert ids(index.search("tabeltop ")) == [1]  # two letters swapped
    assert ids(index.search("intreoperabilty ")) != []  # 15 letters: two edits allowed


def test_typos_need_enough_letters(index):
    assert ids(index.search("raydoe ")) == []  # 2 edits from "radio", but too short for 2
    assert ids(index.search("radoi ")) == [2]  # 1 edit (a swap), 5 letters
    assert ids(index.search("ICZ ")) == []  # 3 letters: no typos at all (ICS is in entry 5)


def test_an_exact_word_is_preferred_to_a_typo(index):
    typo = index.search("excercise ")
    exact = index.search("exercise ")
    assert typo["score"].iloc[0] < exact["score"].iloc[0]


def test_a_misspelling_in_one_entry_does_not_hide_the_common_spelling():
    rows = [
        ("offer", i, "VA", "Virginia", "training", 3, "", f"Exercise number {i}", "An exercise.") for i in range(12)
    ]
    rows.append(("offer", 99, "VA", "Virginia", "training", 3, "", "Excercise with a typo", "Misspelt."))
    idx = search.Index.build(pd.DataFrame(rows, columns=COLUMNS))
    r = idx.search("excercise ")
    assert len(r) == 13 and ids(r)[0] == 99  # the exact spelling first, the 12 corrections after it
    assert matched(r, 99) == "excercise" and matched(r, 0) == "excercise→exercise"


def test_a_real_word_is_not_corrected_to_a_word_about_as_common():
    rows = [("offer", i, "VA", "Virginia", "training", 3, "", "Radio", "") for i in range(3)]
    rows.append(("offer", 9, "VA", "Virginia", "training", 3, "", "Ratio", ""))
    idx = search.Index.build(pd.DataFrame(rows, columns=COLUMNS))
    assert ids(idx.search("ratio ")) == [9]
    assert ids(idx.search("radio ")) == [0, 1, 2]
    assert ids(search.Index.build(pd.DataFrame(rows[:3], columns=COLUMNS)).search("ratio ")) == [0, 1, 2]


def test_the_word_being_typed_completes(index):
    r = index.search("interop")
    assert set(ids(r)) == {2, 6}
    assert matched(r, 6) == "interop→interoperability"
    assert ids(index.search("fusion cen")) == [3]
    # once the word is finished (a space after it), it is a word, not a beginning
    assert ids(index.search("interop ")) == []
    # only the last word completes
    r = index.search("radio interop")
    assert ids(r) == [2] and matched(r, 2) == "radio, interop→interoperability"
    r = index.search("interop radio")  # "interop" matches nothing: the fallback finds radio alone
    assert ids(r) == [2] and matched(r, 2) == "radio"


def test_a_title_match_ranks_above_a_text_only_match(index):
    r = index.search("exercise ")
    assert ids(r)[:2] == [1, 8]  # 8 says "exercise" three times, but only in its text; 1 once, in its title
    r = index.search("statewide ")
    assert ids(r) == [2, 6]  # 2 in its title, 6 in its text (a shorter entry)


def test_state_names_and_program_areas_are_words(index):
    assert ids(index.search("virginia ")) == [1]
    assert ids(index.search("new york ")) == [5]
    assert ids(index.search("puerto rico ")) == [9]
    assert set(ids(index.search("recovery operations "))) == {4, 9}  # the area's label
    assert ids(index.search("deterrence ")) == [3]  # "Prevention/deterrence"
    assert ids(index.search("virginia exercises ")) == [1]
    assert set(ids(index.search("teleconference "))) == {1, 6, 8}  # an offer's format


def test_accents_are_folded_both_ways(index):
    assert ids(index.search("cafe ")) == [10]
    assert ids(index.search("résumé ")) == [10]
    assert ids(index.search("RESUME ")) == [10]


# --- filters ----------------------------------------------------------------------------------------------------------


def test_filters_by_area_region_format_and_kind(index):
    assert set(ids(index.search("exercise ", area="exercises"))) == {1, 8}
    assert set(ids(index.search("exercise ", area="Exercise programs"))) == {1, 8}  # a label works too
    assert set(ids(index.search("", region=3))) == {1, 2, 14, 16}
    assert set(ids(index.search("", format="teleconference"))) == {1, 6, 8}
    assert set(ids(index.search("exercise ", format="on_site_visit"))) == {1}
    assert set(ids(index.search("", kind="practice"))) == {3, 4, 7, 9, 11, 15}
    assert set(ids(index.search("cyber ", kind="offer", region=3))) == {14, 16}
    assert ids(index.search("", area="no_such_area")) == []


def test_an_entry_without_a_region_never_passes_a_region_filter(index):
    assert 11 in ids(index.search("rail "))
    every = set()
    for region in range(1, 11):
        every |= set(ids(index.search("", region=region, limit=None)))
    assert every == set(range(1, 17)) - {11, 12}


def test_an_empty_query_lists_every_entry_of_the_filter_by_title(index):
    r = index.search("", area="recovery")
    assert ids(r) == [4, 9]  # "Debris ..." before "Hurricane ..."
    assert (r["score"] == 0).all() and (r["matched"] == "").all()
    r = index.search("", kind="offer", limit=None)
    assert len(r) == 9
    assert list(r["title"]) == sorted(r["title"], key=str.casefold)


# --- AND, OR, stop words ------------------------------------------------------------------------------------------------


def test_every_word_must_match(index):
    assert ids(index.search("radio cache ")) == [2]
    assert ids(index.search("debris removal ")) == [4]  # 9 mentions debris, but not removal
    assert 9 in ids(index.search("debris "))


def test_when_nothing_matches_every_word_any_word_will_do_ranked_lower(index):
    alone = index.search("radio ")
    r = index.search("radio wildfires ")
    assert set(ids(r)) == {2, 4}
    assert matched(r, 2) == "radio"
    assert r.loc[r["id"] == 2, "score"].iloc[0] < alone["score"].iloc[0]
    # an entry matching two of three words comes before one matching one
    r = index.search("debris removal wildfires shelter ")
    assert ids(r)[0] == 4 and set(ids(r)) == {4, 9}


def test_stop_words_are_ignored(index):
    a = index.search("the exercise of a tabletop ")
    b = index.search("exercise tabletop ")
    assert ids(a) == ids(b) == [1]
    assert a["score"].tolist() == b["score"].tolist()
    assert ids(index.search("the and of ")) == ids(index.search(""))  # nothing but stop words: the empty query


def test_an_entry_whose_words_do_not_match_is_not_returned(index):
    assert ids(index.search("wildfires ")) == [4]
    r = index.search("zzzzqqq ")
    assert r.empty and list(r.columns) == COLUMNS + ["score", "matched"]


# --- order --------------------------------------------------------------------------------------------------------------


def test_ties_are_broken_by_kind_then_state_then_id(index):
    r = index.search("cyber ")
    assert len(set(r["score"])) == 1
    assert ids(r) == [14, 16, 13, 15]  # offers (DE 14, DE 16, MT 13), then the practice


def test_the_order_does_not_depend_on_the_order_of_the_rows():
    shuffled = entries().sample(frac=1.0, random_state=7)
    a, b = search.Index.build(entries()), search.Index.build(shuffled)
    for q in ("cyber ", "exercise ", "", "intero", "radio wildfires "):
        ra, rb = a.search(q, limit=None), b.search(q, limit=None)
        assert ids(ra) == ids(rb), q
        assert ra["score"].tolist() == rb["score"].tolist()


def test_limit(index):
    assert len(index.search("", limit=3)) == 3
    assert len(index.search("cyber ", limit=2)) == 2
    assert len(index.search("", limit=None)) == len(index) == len(ROWS)
    assert index.search("cyber ", limit=0).empty


# --- odd input ----------------------------------------------------------------------------------------------------------


def test_an_empty_index_answers_with_nothing():
    for frame in (pd.DataFrame(columns=COLUMNS), pd.DataFrame()):
        idx = search.Index.build(frame)
        assert len(idx) == 0
        for q in ("", "exercise", "interop", "?!"):
            r = idx.search(q, area="exercises") if q == "?!" else idx.search(q)
            assert r.empty and {"score", "matched"} <= set(r.columns)


def test_odd_queries_do_not_crash(index):
    assert len(index.search("?!,;— ()")) == len(index.search(""))  # punctuation only: the empty query
    assert index.search(None) is not None  # type: ignore[arg-type]
    long = " ".join(["exercise", "tabletop"] * 500 + [f"word{i}" for i in range(500)])
    t = time.perf_counter()
    r = index.search(long)
    assert time.perf_counter() - t < 2.0
    assert isinstance(r, pd.DataFrame)
    assert len(index.search("x" * 5000)) == 0
    # a query is cut to its first 32 distinct words
    many = " ".join(f"nonsense{i}" for i in range(search.MAX_QUERY_WORDS))
    assert ids(index.search(many + " tabletop ")) == []
    assert ids(index.search(many[: -len(" nonsense31")] + " tabletop ")) == [1]
    assert len(index.search("exercise", region=np.int64(3))) == 1


def test_an_index_survives_pickling(index):
    again = pickle.loads(pickle.dumps(index))
    assert ids(again.search("excercise ")) == ids(index.search("excercise "))
    assert ids(again.search("interop")) == ids(index.search("interop"))
