"""Django's PostgreSQL backend with a connection health check that runs at most once per
interval (``ENGINE = "core.postgresql"``; see ``base.py``)."""
