"""What runs the process: the HTTP routes (webhooks, login), the background
workers and the one process-wide store. Uses ``maxchat_data``; imported only
by ``app.py``, the pages (for the store) and the tests, never by ``maxchat_data``."""
