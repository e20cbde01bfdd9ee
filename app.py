"""The Streamlit app: `streamlit run app.py` (or `make run`).

Thin: each page gathers input, calls `forecast/` and `scheduling/` (and the workspace in
`webcare/`), and draws. The pages live in `app_pages/`.
"""

import streamlit as st

st.set_page_config(page_title="webcare-planner", page_icon=":material/forum:", layout="wide")

pages = [
    st.Page("app_pages/data.py", title="Data", icon=":material/table_chart:", default=True),
]
st.navigation(pages).run()
