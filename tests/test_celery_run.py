"""`sagsgang run`: worker, one beat and a mail sink on embedded defaults; Ctrl-C stops all."""

import os
import signal
import subprocess
import sys

import pytest
from servers import create_case, free_port, organisation_file, port_open, wait_for

from cases import services
from cases.db import make_engine, write_session

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def test_it_runs_everything_and_delivers_a_reminder_to_the_local_mailbox(tmp_path):
    smtp_port, web_port = free_port(), free_port()
    env = dict(os.environ)
    for name in ("SAGSGANG_SMTP_HOST", "SAGSGANG_SMTP_PORT", "SAGSGANG_BROKER_URL"):
        env.pop(name, None)
    env.update({"SAGSGANG_VAR_DIR": str(tmp_path), "SAGSGANG_SWEEP_SECONDS": "0.5",
                "DATABASE_URL": f"sqlite:///{tmp_path / 'sagsgang.db'}",
                "SAGSGANG_ORGANISATION": str(organisation_file(tmp_path))})
    command = [sys.executable, "-c", "from cases.cli import main; main()", "run",
               "--port", str(web_port), "--smtp-port", str(smtp_port)]
    runner = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
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
            return subprocess.run([sys.executable, "-c", "from cases.cli import main; main()",
                                   "mail", "list"], env=env, capture_output=True,
                                  text=True).stdout

        # The demo data (loaded into the empty database) may bring mail of its own.
        lines = wait_for(lambda: [line for line in listing().splitlines() if subject in line],
                         60, interval=0.5, what="the mail")
        number = lines[0].split()[0]
        shown = subprocess.run([sys.executable, "-c", "from cases.cli import main; main()",
                                "mail", "show", number], env=env, capture_output=True,
                               text=True)
        assert "Høringsfristen er 30-04-2030." in shown.stdout
        assert "To: Foreningen <forening@example.org>" in shown.stdout
    finally:
        runner.send_signal(signal.SIGINT)
        output, _ = runner.communicate(timeout=30)
    assert runner.returncode == 0, output
    assert "Stoppet." in output
    assert not port_open(smtp_port)
    assert not port_open(web_port)
