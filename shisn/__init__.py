"""shisn: State Homeland Security Information Sharing Network dashboard. Layers, lowest first: domain, store,
services, render, demo, then web (Streamlit only) and cli; docs/architecture.md draws them."""

__version__ = "0.1.0"
