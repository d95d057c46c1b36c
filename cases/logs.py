"""Log lines as text (the default) or, with SAGSGANG_LOG_FORMAT=json, one JSON object per
line for a log collector; each carries the id of the web request it was written for.

The web app (web.ops.RequestContext) sets `request_id` for each request; the worker threads
FastAPI runs routes on copy it, so every line a request causes carries it.
"""

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# Loggers that servers configure with handlers of their own: in JSON mode their lines go to
# the root's one JSON handler instead.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "celery")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(),
                "level": record.levelname, "logger": record.name,
                "message": record.getMessage()}
        if request_id.get():
            line["request_id"] = request_id.get()
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def setup_logging(log_format: str) -> None:
    """JSON: one handler on the root logger writing JSON lines to stderr, and the servers'
    own loggers sent to it. Text: the servers' and Celery's own setup is left as it is."""
    if log_format != "json":
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
