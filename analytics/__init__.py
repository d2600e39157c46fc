"""Computation for the cockpit: import, store, indices, rankings, hot words. Never imports streamlit."""
