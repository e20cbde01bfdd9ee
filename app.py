"""The Streamlit app: `streamlit run app.py` (or `make run`).

Thin: each page gathers input, calls `forecast/` and `scheduling/` (and the workspace in
`webcare/`), and draws. The pages live in `app_pages/`. Before any page the password gate of
`webcare.auth` runs; the sidebar holds the language switch (English / Nederlands).
"""

import time

import streamlit as st

from app_pages.common import optional_module, workspace
from webcare import auth, i18n
from webcare.i18n import t

st.set_page_config(page_title="webcare-planner", page_icon=":material/forum:", layout="wide")


def _secrets():
    try:
        return st.secrets
    except Exception:  # noqa: BLE001 - no secrets file
        return None


def password_gate() -> bool:
    """True when the pages may be shown (see webcare/auth.py for the rule)."""
    stored = auth.configured_hash(_secrets())
    address = st.get_option("server.address")
    decision = auth.decide(stored, address)
    if decision == "open" or st.session_state.get("authenticated"):
        return True
    st.title("webcare-planner")
    if decision == "refuse":
        st.error(t("The app listens beyond this computer ({address}) but no password is set, so no data is shown.",
                   address=address or "0.0.0.0"))
        st.markdown(t("Make a hash with `{command}` and set it in the environment variable `WEBCARE_PASSWORD_HASH` "
                      "(or as `password_hash` in `.streamlit/secrets.toml`), then restart; or run on localhost only (`make run`).",
                      command="python -m webcare.auth hash"))
        return False
    st.write(t("This dashboard is protected: enter the password."))
    with st.form("login"):
        password = st.text_input(t("Password"), type="password", key="password")
        submitted = st.form_submit_button(t("Sign in"), type="primary")
    if submitted:
        try:
            ok = auth.verify(password or "", stored)
        except auth.PasswordHashError as exc:
            st.error(str(exc))
            return False
        if ok:
            st.session_state["authenticated"] = True
            st.session_state.pop("failures", None)
            st.rerun()
        failures = st.session_state.get("failures", 0) + 1
        st.session_state["failures"] = failures
        delay = auth.failure_delay(failures)
        time.sleep(delay)
        st.error(t("Wrong password. Wait {seconds:g} s before the next try.", seconds=delay))
    return False


def language_switch() -> None:
    """English / Nederlands in the sidebar; the choice is kept in the workspace."""
    if "lang" not in st.session_state:
        try:
            st.session_state["lang"] = workspace().setting("language", i18n.DEFAULT)
        except Exception:  # noqa: BLE001 - the workspace errors show on the page itself
            st.session_state["lang"] = i18n.DEFAULT

    def remember():
        if st.session_state.get("lang") not in i18n.LANGUAGES:
            st.session_state["lang"] = i18n.DEFAULT
        workspace().set_setting("language", st.session_state["lang"])

    st.sidebar.segmented_control(t("Language"), list(i18n.LANGUAGES), format_func=i18n.LANGUAGES.get, key="lang",
                                 on_change=remember)


if password_gate():
    language_switch()
    pages = [
        st.Page("app_pages/data.py", title=t("Data"), icon=":material/table_chart:", default=True, url_path="data"),
        st.Page("app_pages/forecast.py", title=t("Forecast"), icon=":material/trending_up:", url_path="forecast"),
        st.Page("app_pages/staffing.py", title=t("Staffing"), icon=":material/groups:", url_path="staffing"),
        st.Page("app_pages/opening_hours.py", title=t("Opening hours"), icon=":material/schedule:", url_path="opening-hours"),
        st.Page("app_pages/scenarios.py", title=t("Scenarios"), icon=":material/compare_arrows:", url_path="scenarios"),
        st.Page("app_pages/kpis.py", title=t("KPIs"), icon=":material/monitoring:", url_path="kpis"),
    ]
    roster = optional_module("app_pages.roster_support")
    if roster is not None and roster.available():
        pages.append(st.Page("app_pages/roster.py", title=t("Roster"), icon=":material/calendar_month:", url_path="roster"))
    if st.session_state.get("authenticated"):
        if st.sidebar.button(t("Sign out")):
            st.session_state.pop("authenticated", None)
            st.rerun()
    st.navigation(pages).run()
