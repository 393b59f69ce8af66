"""Shared Streamlit view helpers (the only package besides app_pages/ that
imports streamlit). Business rules stay in ``maxchat_data``."""
