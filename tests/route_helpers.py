"""Helpers for the route tests (joint competence, postponement, referral, councils): the
command line and the JSON API on one database, SQLite or PostgreSQL."""

from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlmodel import select

from cases.db import make_engine, write_session
from cases.models import User
from cli.main import cli
from demo.users import ensure_demo_users
from web.tokens import new_api_token

CENTRE = "Center for Voksne og Sundhed"


class Both:
    """`sagsgang` and the API (as the secretariat, by bearer token) on the database at url."""

    def __init__(self, url: str, monkeypatch):
        from web.app import create_app

        monkeypatch.setenv("DATABASE_URL", url)
        self.engine = make_engine(url)
        with write_session(self.engine) as session:
            ensure_demo_users(session)
            user_id = session.exec(select(User.id).where(User.username == "sekretariat")).one()
            token = new_api_token(session, user_id, "route test")
        self.api = TestClient(create_app(url), raise_server_exceptions=False)
        self.api.headers["Authorization"] = f"Bearer {token}"
        self.runner = CliRunner()

    def cli(self, *args: str, ok: bool = True):
        result = self.runner.invoke(cli, list(args))
        if ok:
            assert result.exit_code == 0, result.output
        return result

    def post(self, path: str, data: dict, status: int = 200) -> dict:
        response = self.api.post(path, json=data)
        assert response.status_code == status, response.text
        return response.json()

    def get(self, path: str):
        response = self.api.get(path)
        assert response.status_code == 200, response.text
        return response.json()

    def close(self):
        self.api.close()
        self.engine.dispose()
