"""displays.text_table: the static tables beside a chart or a map are Markdown, so a new session loads no table code;
user text in them stays text."""

from streamlit.testing.v1 import AppTest

from shisn.web import displays
from tests.support import static_tables


def _page():  # run by AppTest from its source alone: it imports what it uses
    import pandas as pd

    from shisn.web import displays

    displays.text_table(
        pd.DataFrame(
            {
                "State": ["NH", "VA"],
                "Score": [2.573, 1.0],
                "Maturity": [4, 2],
                "Mentors": [3.0, 5.0],
                "Notes": ["Plan | draft **bold** [link](http://x) <b>hi</b>", None],
            }
        )
    )
    displays.text_table(pd.DataFrame({"Empty": []}))


def test_a_text_table_is_markdown_showing_user_text_as_text_and_numbers_as_they_read():
    at = AppTest.from_function(_page).run()
    assert not at.exception and not at.table and not at.dataframe
    (t,) = static_tables(at)  # the empty frame draws nothing
    assert list(t.columns) == ["State", "Score", "Maturity", "Mentors", "Notes"]
    assert list(t["State"]) == ["NH", "VA"] and list(t["Maturity"]) == [4, 2]
    assert list(t["Score"]) == [2.57, 1.0]  # two places
    text = at.markdown[0].value
    assert "| 2.57 | 4 | 3 |" in text and "| 1.00 | 2 | 5 |" in text  # a column of whole floats without decimals
    # the note's pipe does not split the cell, and no Markdown or HTML in it is live
    assert t["Notes"][0] == "Plan | draft **bold** [link](http://x) <b>hi</b>" and t["Notes"][1] == ""
    assert "\\*\\*bold\\*\\*" in text and "\\[link\\]" in text and "\\<b\\>" in text


def test_a_table_drawn_again_shows_its_own_rows_never_an_earlier_frames():
    """A frame's Markdown is kept while the frame lives (shared frames are drawn for every new session); a new frame,
    even one Python places where a freed one was, is drawn from its own rows."""
    import gc

    import pandas as pd

    shared = pd.DataFrame({"State": ["VA"], "Maturity": [3]})
    assert displays._markdown_of(shared) is displays._markdown_of(shared)  # kept, not formatted again
    for n in range(50):  # freed frames' places are reused: each new frame still shows its own value
        df = pd.DataFrame({"State": ["MD"], "Maturity": [n]})
        assert displays._markdown_of(df).endswith(f"| MD | {n} |")
        del df
        gc.collect()
    assert displays._markdown_of(shared).endswith("| VA | 3 |")
