"""`sagsgang run`: worker, one beat and a mail sink on embedded defaults; Ctrl-C stops all."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from servers import create_case, free_port, organisation_file, port_open, wait_for

from cases import services
from cases.db import make_engine, write_session

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def run_env(tmp_path) -> dict:
    env = dict(os.environ)
    for name in ("SAGSGANG_SMTP_HOST", "SAGSGANG_SMTP_PORT", "SAGSGANG_BROKER_URL",
                 "SAGSGANG_SITE_URL"):
        env.pop(name, None)
    env.update({"SAGSGANG_VAR_DIR": str(tmp_path), "SAGSGANG_SWEEP_SECONDS": "0.5",
                "DATABASE_URL": f"sqlite:///{tmp_path / 'sagsgang.db'}",
                "SAGSGANG_ORGANISATION": str(organisation_file(tmp_path))})
    return env


def start_run(env, web_port: int, smtp_port: int) -> subprocess.Popen:
    command = [sys.executable, "-c", "from cli.main import main; main()", "run",
               "--port", str(web_port), "--smtp-port", str(smtp_port)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def processes_with_var_dir(var_dir) -> list[int]:
    """Our processes started for this var dir (run's children inherit its environment)."""
    marker = f"SAGSGANG_VAR_DIR={var_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or not ours
            continue
    return found


def test_it_runs_everything_and_delivers_a_reminder_to_the_local_mailbox(tmp_path):
    smtp_port, web_port = free_port(), free_port()
    env = run_env(tmp_path)
    runner = start_run(env, web_port, smtp_port)
    try:
        wait_for(lambda: port_open(smtp_port), 30, what="the mail sink")
        engine = make_engine(env["DATABASE_URL"])
        with write_session(engine) as session:
            create_case(session, number="26-77", title="Plan <for> ældre")
            services.add_hearing(session, "26-77", title="Høring",
                                 parties=["Foreningen <forening@example.org>"],
                                 deadline="30-04-2030", opened_on="01-01-2026", actor="test")
        engine.dispose()
        subject = "Anmodning om høringssvar: Plan <for> ældre"

        def listing() -> str:
            return subprocess.run([sys.executable, "-c", "from cli.main import main; main()",
                                   "mail", "list"], env=env, capture_output=True,
                                  text=True).stdout

        # The demo data (loaded into the empty database) may bring mail of its own.
        lines = wait_for(lambda: [line for line in listing().splitlines() if subject in line],
                         60, interval=0.5, what="the mail")
        number = lines[0].split()[0]
        shown = subprocess.run([sys.executable, "-c", "from cli.main import main; main()",
                                "mail", "show", number], env=env, capture_output=True,
                               text=True)
        assert "Høringsfristen er 30-04-2030." in shown.stdout
        assert "To: Foreningen <forening@example.org>" in shown.stdout
    finally:
        runner.send_signal(signal.SIGINT)
        output, _ = runner.communicate(timeout=30)
    assert runner.returncode == 0, output
    assert "Stoppet." in output
    assert f"Sagsgang kører på http://127.0.0.1:{web_port}" in output
    assert "sekretariat" in output and "sekretariat-demo" in output
    assert not port_open(smtp_port)
    assert not port_open(web_port)


def test_it_stops_every_child_on_sigterm(tmp_path):
    smtp_port, web_port = free_port(), free_port()
    runner = start_run(run_env(tmp_path), web_port, smtp_port)
    try:
        wait_for(lambda: port_open(web_port) and port_open(smtp_port), 60,
                 what="the web and the mail sink")
        children = [pid for pid in processes_with_var_dir(tmp_path) if pid != runner.pid]
        assert len(children) >= 4  # mail sink, worker (and its pool), beat, web
    finally:
        runner.send_signal(signal.SIGTERM)
        output, _ = runner.communicate(timeout=30)
    assert runner.returncode == 0, output
    assert "Stoppet." in output
    assert processes_with_var_dir(tmp_path) == []
    assert not port_open(smtp_port) and not port_open(web_port)
