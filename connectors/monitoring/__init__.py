"""The dashboard: lag and freshness over time (history.py) served as a web page and as
Prometheus metrics (web.py)."""
