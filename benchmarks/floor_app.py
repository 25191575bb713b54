"""The floor for page-ready times: a bare Streamlit app served by the same server build, started the same way as
app.py. Two bare pages under st.navigation (a title and a line of text each), so that clicking between them in
the sidebar measures exactly what the real pages' sidebar clicks measure, minus shisn's work."""
import streamlit as st


def floor_a():
    st.title("Floor A")
    st.write("A bare page: the time Streamlit itself needs to serve a page.")


def floor_b():
    st.title("Floor B")
    st.write("Another bare page.")


st.set_page_config(page_title="floor", layout="wide")
st.navigation([st.Page(floor_a, title="Floor A", url_path="a", default=True),
               st.Page(floor_b, title="Floor B", url_path="b")]).run()
