"""Entry page: login gate and navigation."""
import streamlit as st

st.title("Maxchat Inbox")
