"""The Streamlit app (`streamlit run app.py`).

The app's pages arrive with the app issue; until then `make run` runs `webcare demo`, the
command-line end-to-end job on the bundled sample. Like the CLI, the app only calls into
`forecast/` and `scheduling/` (and the workspace in `webcare/`).
"""
