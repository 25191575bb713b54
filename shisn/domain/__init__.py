"""Pure rules and analysis: no store, no Streamlit, no drawing."""
