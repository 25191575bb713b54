"""shisn: State Homeland Security Information Sharing Network dashboard (logic; no Streamlit here except ui.py)."""
__version__ = "0.1.0"
