# Read by `gunicorn config.wsgi` from the working directory.
import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("WEB_THREADS", "2"))
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
timeout = 30

# Access lines pass through the same redaction as application logs: request
# paths carry signed tokens.
logger_class = "config.gunicorn_logging.RedactingLogger"
