"""The pages: one module per page (file stem == URL path), each defining ``render()``; ``app.py`` routes.

Shared sidebar, banner and cached data access live in ``pages/_layout.py``. Pages lay out only and
never import ``app``.
"""
from __future__ import annotations

import runpy
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def route_through_app() -> None:
    """Run ``app.py`` as Streamlit would: the guard at the end of every page module. Streamlit's legacy
    ``pages/`` mode runs ``pages/<stem>.py`` directly for the URL ``/<stem>`` on a fresh server; this
    sends that run through the app's shell (login, roles, navigation) instead of the bare page. The
    app is executed as a script, not imported: the pages never depend on it."""
    runpy.run_path(str(APP), run_name="__main__")
