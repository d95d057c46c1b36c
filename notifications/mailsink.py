"""A local SMTP server for development and the demo: every message it receives is saved as an
.eml file (read them with `sagsgang mail list` and `sagsgang mail show`).

    python -m notifications.mailsink --port 8025 --dir var/mail
"""

import argparse
import signal
import threading
import time
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

from aiosmtpd.controller import Controller

from cases.settings import get_settings


def mail_dir() -> Path:
    return get_settings().var_dir / "mail"


class SavingHandler:
    def __init__(self, directory: Path):
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            name = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**9:09d}.eml"
            (self.directory / name).write_bytes(envelope.content)
        return "250 Message accepted for delivery"


def saved_messages(directory: Path | None = None) -> list[tuple[Path, object]]:
    """The saved messages, oldest first, parsed."""
    directory = directory or mail_dir()
    if not directory.exists():
        return []
    return [(path, message_from_bytes(path.read_bytes(), policy=default_policy))
            for path in sorted(directory.glob("*.eml"))]


def main() -> None:
    parser = argparse.ArgumentParser(description="Local SMTP server that saves mail as .eml")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", default=str(mail_dir()))
    args = parser.parse_args()
    controller = Controller(SavingHandler(Path(args.dir)), hostname=args.host, port=args.port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
