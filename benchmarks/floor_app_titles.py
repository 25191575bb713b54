"""Page titles of benchmarks/floor_app.py, shared with bench_pages.py (which must not import the app script)."""

FLOOR_TITLES = ("Floor A", "Floor B")  # the floor: bare pages
ELEMENT_TITLES = {
    "Element: map": "the national map",
    "Element: heatmap": "the jurisdiction heatmap",
    "Element: table": "one table (56 rows of the coverage export)",
}  # one heavy element each
