"""shisn: State Homeland Security Information Sharing Network dashboard. Run with `streamlit run app.py`.

The entry point sets the page config, resolves who is viewing (demo role switcher until access control lands),
labels demo data, and builds the navigation over the scripts in pages/ (paths anchored on this file's folder,
so the app starts from any working directory)."""

from pathlib import Path

import streamlit as st

from shisn.domain import auth
from shisn.web import identity, navigation

st.set_page_config(
    page_title="shisn · Information Sharing Network",
    page_icon=str(Path(__file__).resolve().parent / "data" / "icon.png"),
    layout="wide",
)

HERE = Path(__file__).resolve().parent
ALL = auth.ROLES
LEAD_PM = (auth.LEADERSHIP, auth.PROGRAM_MANAGER)

# (script, title, icon, url path, roles that see it in the menu). Every page is registered for every role, so a
# link to any page opens it; a role that may not use a page does not see it in the menu, and the page's own
# identity.guard says, on the page, which roles it is for and where to go instead (and shows none of its data). The url
# path is the file's name: in the first session after the server starts Streamlit serves pages/ by file name until
# app.py has run once, and identity.guard hands such a page over to this navigation (navigation.open_deep_link).
# Landing pages (`/`): leadership the national view, program managers their work queue, states their profile.
LANDING = {auth.LEADERSHIP: "national.py", auth.PROGRAM_MANAGER: "queue.py", auth.STATE: "state_profile.py"}
PAGES = [
    ("pages/queue.py", "Work queue", ":material/inbox:", "queue", LEAD_PM),
    ("pages/national.py", "National coverage", ":material/public:", "national", LEAD_PM),
    ("pages/pairings.py", "Pairings", ":material/handshake:", "pairings", LEAD_PM),
    ("pages/state_profile.py", "State profile", ":material/account_balance:", "state_profile", ALL),
    ("pages/exchanges.py", "Exchanges", ":material/forum:", "exchanges", ALL),
    ("pages/offers.py", "Offers and practices", ":material/volunteer_activism:", "offers", ALL),
    ("pages/impact.py", "Impact", ":material/insights:", "impact", LEAD_PM),
    ("pages/program_managers.py", "Program managers", ":material/badge:", "program_managers", (auth.LEADERSHIP,)),
    ("pages/assessment.py", "Self-assessment", ":material/edit_note:", "assessment", ALL),
    ("pages/data.py", "Data", ":material/upload_file:", "data", ALL),
    ("pages/notifications.py", "Notifications", ":material/notifications:", "notifications", ALL),
    ("pages/users.py", "Users and audit", ":material/admin_panel_settings:", "users", (auth.LEADERSHIP,)),
]

viewer = identity.resolve_viewer()
if viewer is None:  # nobody signed in, or a user without a role: nothing but the message
    st.stop()
navigation.register_pages({Path(script).name: (title, roles) for script, title, icon, path, roles in PAGES})
pages = {
    Path(script).name: page
    for script, title, icon, path, roles in PAGES
    if (page := navigation.nav_page(HERE / script, title, icon, path, viewer.role in roles)) is not None
}
landing = pages.get(LANDING[viewer.role]) or next(
    pages[Path(s).name] for s, *_, roles in PAGES if viewer.role in roles and Path(s).name in pages
)


def home():
    """`/` opens the viewer's landing page at its own address (Streamlit serves its default page at `/` only), so
    every page's link, e.g. `/national?region=3` or `/state_profile?state=VA`, works for every role."""
    st.switch_page(landing, query_params=st.query_params.to_dict())


nav = st.navigation([st.Page(home, title="Home", url_path="home", default=True, visibility="hidden"), *pages.values()])
if nav.url_path:  # `/` (the default page, url_path "") draws nothing of its own: it hands over to the landing page
    # the page's own name first in the browser's title (WCAG 2.4.2): tabs, history and screen readers tell pages apart
    st.set_page_config(page_title=f"{nav.title} · shisn")
    identity.identity_panel(viewer)
navigation.open_deep_link(pages)  # a link that opened the server's first session, before this navigation existed
identity.data_banner()
nav.run()
