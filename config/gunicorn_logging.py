from gunicorn.glogging import Logger

from config.security import RedactingFilter, redact


class RedactingLogger(Logger):
    """gunicorn's logger with tokens and addresses masked in access lines and
    in its error log (which quotes the request URI when a request fails)."""

    def setup(self, cfg):
        super().setup(cfg)
        if not any(isinstance(f, RedactingFilter) for f in self.error_log.filters):
            self.error_log.addFilter(RedactingFilter())

    def access(self, resp, req, environ, request_time):
        environ = dict(environ)
        for key in ("PATH_INFO", "RAW_URI", "QUERY_STRING", "HTTP_REFERER"):
            if key in environ and isinstance(environ[key], str):
                environ[key] = redact(environ[key])
        req.path = redact(req.path or "")
        req.uri = redact(req.uri or "")
        req.query = redact(req.query or "")
        super().access(resp, req, environ, request_time)
