"""gunicorn settings for Panel in production: `gunicorn -c gunicorn.conf.py`.

Every setting comes from the environment so one file serves every host. Several processes (and
hosts) share PostgreSQL, the storage volume and Redis; nothing lives only in one process.
"""

import multiprocessing
import os

wsgi_app = "panel:create_app()"
bind = os.environ.get("PANEL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("PANEL_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("PANEL_THREADS", "2"))
worker_class = "gthread"
timeout = int(os.environ.get("PANEL_WORKER_TIMEOUT", "120"))  # large scan uploads
graceful_timeout = 30
keepalive = 5
max_requests = 2000
max_requests_jitter = 200
# Access log without query strings: URLs carry only pseudonymous references, but be strict.
accesslog = os.environ.get("PANEL_ACCESS_LOG", "-")
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
forwarded_allow_ips = os.environ.get("PANEL_FORWARDED_ALLOW_IPS", "127.0.0.1")
