"""The pages: one module per page (file stem == URL path), each defining ``render()``; ``app.py`` routes.

Shared sidebar, banner and cached data access live in ``pages/_layout.py``. Pages lay out only.
"""
