"""Shared Streamlit view helpers (the only package besides pages/ that
imports streamlit). Business rules stay in ``maxchat_data``."""
