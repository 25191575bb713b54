"""shisn: State Homeland Security Information Sharing Network dashboard. Run with `streamlit run app.py`.

The entry point sets the page config, resolves who is viewing (demo role switcher until access control lands),
labels demo data, and builds the navigation over the scripts in pages/ (paths anchored on this file's folder,
so the app starts from any working directory)."""
from pathlib import Path

import streamlit as st

from shisn import auth, ui

st.set_page_config(page_title="shisn · Information Sharing Network",
                   page_icon=str(Path(__file__).resolve().parent / "data" / "icon.png"), layout="wide")

HERE = Path(__file__).resolve().parent
ALL = auth.ROLES
LEAD_PM = (auth.LEADERSHIP, auth.PROGRAM_MANAGER)

# (script, title, icon, url path, roles that see it in the menu). Each page also checks the role itself. The url
# path is the file's name: in the first session after the server starts Streamlit serves pages/ by file name until
# app.py has run once, and ui.guard hands such a page over to this navigation (ui.open_deep_link).
# The first page a role sees is its landing page: leadership and PMs land on the national view, states on their profile.
PAGES = [
    ("pages/national.py", "National coverage", ":material/public:", "national", LEAD_PM),
    ("pages/pairings.py", "Pairings", ":material/handshake:", "pairings", LEAD_PM),
    ("pages/state_profile.py", "State profile", ":material/account_balance:", "state_profile", ALL),
    ("pages/exchanges.py", "Exchanges", ":material/forum:", "exchanges", ALL),
    ("pages/impact.py", "Impact", ":material/insights:", "impact", LEAD_PM),
    ("pages/program_managers.py", "Program managers", ":material/badge:", "program_managers", (auth.LEADERSHIP,)),
    ("pages/data.py", "Data", ":material/upload_file:", "data", ALL),
    ("pages/users.py", "Users and audit", ":material/admin_panel_settings:", "users", (auth.LEADERSHIP,)),
]

viewer = ui.resolve_viewer()
if viewer is None:  # nobody signed in, or a user without a role: nothing but the message
    st.stop()
pages = {Path(script).name: st.Page(HERE / script, title=title, icon=icon, url_path=path)
         for script, title, icon, path, roles in PAGES if viewer.role in roles and (HERE / script).exists()}
landing = next(iter(pages.values()))


def home():
    """`/` opens the viewer's landing page at its own address (Streamlit serves its default page at `/` only), so
    every page's link, e.g. `/national?region=3` or `/state_profile?state=VA`, works for every role."""
    st.switch_page(landing, query_params=st.query_params.to_dict())


nav = st.navigation([st.Page(home, title="Home", url_path="home", default=True, visibility="hidden"),
                     *pages.values()])
ui.open_deep_link(pages)  # a link that opened the server's first session, before this navigation existed
ui.data_banner()
nav.run()
