"""Streamlit only: identity and the page guard, URL-bound widgets, tables, downloads, cached loaders, page components."""
