"""Gunicorn settings for Peerly: `gunicorn peerly.wsgi` (this file is read from the working directory).

Everything comes from the environment (see the README's configuration table).
"""

import multiprocessing
import os

wsgi_app = "peerly.wsgi:application"

# Listen on loopback unless told otherwise: the load balancer or TLS proxy sits in front.
bind = os.environ.get("PEERLY_BIND", "127.0.0.1:8000").split(",")

# Workers are processes; the usual 2 x cores + 1, capped so a big machine does not exhaust the
# database's connections (each worker keeps one open for DATABASE_CONN_MAX_AGE seconds).
workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * multiprocessing.cpu_count() + 1, 12))
threads = int(os.environ.get("PEERLY_THREADS", "1"))

# A request that runs longer than this is killed (Google's endpoints have a 5 s timeout of their own).
timeout = int(os.environ.get("PEERLY_WORKER_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5

# Recycle workers now and then, with jitter, so slow leaks never accumulate.
max_requests = 2000
max_requests_jitter = 200

# Peerly writes one JSON line per request itself (peerly.access); gunicorn's access log would double it.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("PEERLY_LOG_LEVEL", "info").lower()

# Addresses of the proxies allowed to set X-Forwarded-Proto / X-Forwarded-For for gunicorn.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Refuse oversized request lines and headers before Django sees them.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
