"""Prometheus metrics at /metrics and JSON logs with a request id, against the web app under
uvicorn in its own processes: two web processes counting together (multiprocess mode), the
outbox counted from the database, access by address or token."""

import json
import subprocess
import sys
from datetime import timedelta

import httpx
import pytest
from live_web import SECRET
from servers import WebServer, add_due_reminders, free_port, port_open, wait_for

from cases.db import make_engine
from cases.models import utcnow
from cases.settings import PROJECT_DIR

pytestmark = pytest.mark.slow
TOKEN = "metrics-token-" + "x" * 20


def samples(text: str) -> dict[str, float]:
    """`name{labels}` → value, from Prometheus' text format."""
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            found[name] = float(value)
    return found


def test_two_web_processes_count_together_and_the_outbox_is_counted_from_the_database(
        tmp_path, migrated_sqlite):
    url = migrated_sqlite(tmp_path / "web.db")
    engine = make_engine(url)
    add_due_reminders(engine, 3, now=utcnow() - timedelta(hours=1))
    engine.dispose()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = {"DATABASE_URL": url, "SAGSGANG_VAR_DIR": tmp_path, "SAGSGANG_SECRET_KEY": SECRET,
           "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
    with WebServer(env, tmp_path, workers=2) as server:
        for _ in range(20):  # a new connection each: both processes answer some
            assert httpx.get(f"{server.url}/api/health").status_code == 200
        assert httpx.get(f"{server.url}/api/cases/26-1").status_code == 401
        # Any process answers a scrape for both: each one's counts are in the directory.
        for _ in range(3):
            answer = httpx.get(f"{server.url}/metrics")
            assert answer.status_code == 200
            found = samples(answer.text)
            assert found['sagsgang_http_request_duration_seconds_count{method="GET",'
                         'route="/api/health",status="200"}'] == 20
        assert found['sagsgang_http_request_duration_seconds_count{method="GET",'
                     'route="/api/cases/{number:path}",status="401"}'] == 1
        assert found['sagsgang_outbox_reminders{status="pending"}'] == 3
        assert found['sagsgang_outbox_reminders{status="failed"}'] == 0
        assert found["sagsgang_failed_mails"] == 0
        assert 3600 <= found["sagsgang_oldest_due_reminder_age_seconds"] < 3600 + 600
        assert "26-1" not in answer.text  # route templates, never addresses


def test_metrics_only_for_allowed_addresses_or_the_token_and_json_logs_carry_the_request_id(
        tmp_path, migrated_sqlite):
    url = migrated_sqlite(tmp_path / "web.db")
    port = free_port()
    env = {**WebServer({}, tmp_path).env, "DATABASE_URL": url, "SAGSGANG_VAR_DIR": str(tmp_path),
           "SAGSGANG_SECRET_KEY": SECRET, "SAGSGANG_LOG_FORMAT": "json",
           "SAGSGANG_METRICS_ALLOW": "10.0.0.0/8", "SAGSGANG_METRICS_TOKEN": TOKEN}
    log_path = tmp_path / "web.log"
    with open(log_path, "wb") as log:
        web = subprocess.Popen([sys.executable, "-m", "uvicorn", "web.app:app", "--host",
                                "127.0.0.1", "--port", str(port), "--log-level", "info"],
                               env=env, cwd=str(PROJECT_DIR), stdout=log,
                               stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: port_open(port), 30, what="uvicorn")
            base = f"http://127.0.0.1:{port}"
            refused = httpx.get(f"{base}/metrics")  # 127.0.0.1 is not in 10.0.0.0/8
            assert refused.status_code == 403
            assert refused.json() == {"detail": "Ingen adgang til målingerne."}
            wrong = httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer nej"})
            assert wrong.status_code == 403
            allowed = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            assert allowed.status_code == 200 and "sagsgang_outbox_reminders" in allowed.text

            kept = httpx.get(f"{base}/offentlig", headers={"X-Request-ID": "proxy-42.a"})
            assert kept.headers["x-request-id"] == "proxy-42.a"
            made = httpx.get(f"{base}/offentlig", headers={"X-Request-ID": "no good\tid"})
            assert len(made.headers["x-request-id"]) == 32
            lines = wait_for(lambda: [json.loads(line) for line in log_path.read_text()
                                      .splitlines() if "proxy-42.a" in line], 10,
                             what="the request's log line")
        finally:
            web.terminate()
            web.wait(15)
    assert lines[0]["request_id"] == "proxy-42.a"
    assert lines[0]["logger"] == "uvicorn.access" and "GET /offentlig" in lines[0]["message"]
    # Every line is JSON, the server's own ones included.
    every = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    assert any("Application startup complete" in line["message"] for line in every)


def test_celery_logs_json_too(tmp_path, sqlite_url):
    from servers import CeleryProcess, RedisServer, celery_env, organisation_file

    with RedisServer(tmp_path / "redis") as redis:
        env = celery_env(database_url=sqlite_url, broker_url=redis.url, smtp_port=free_port(),
                         var_dir=tmp_path, organisation=organisation_file(tmp_path),
                         SAGSGANG_LOG_FORMAT="json")
        with CeleryProcess("beat", env, tmp_path, "beat") as beat:
            wait_for(lambda: "Sending due task" in beat.log_path.read_text(), 60,
                     interval=0.2, what="beat sending")
    lines = [json.loads(line) for line in beat.log_path.read_text().splitlines()
             if line.startswith("{")]
    assert any(line["logger"] == "celery.beat" and "Sending due task" in line["message"]
               for line in lines)
