"""The floor for bench.load: a bare FastAPI endpoint doing one indexed query (a case by its
number) on DATABASE_URL, with the app's engine settings (cases.db.make_engine: the same pool)
and run by bench.load under uvicorn with the same server settings as `sagsgang serve`.
Whatever a page costs above this is ours: routing, sessions, queries, templates.
"""

import os

import sqlalchemy as sa
from fastapi import FastAPI, HTTPException

from cases.db import make_engine

app = FastAPI()
engine = make_engine(os.environ["DATABASE_URL"])
QUERY = sa.text('SELECT id, number, title, status FROM "case" WHERE number = :number')


@app.get("/floor/{number}")
def one_case(number: str) -> dict:  # a plain def: on the thread pool, as the app's pages
    with engine.connect() as connection:
        row = connection.execute(QUERY, {"number": number}).first()
    if row is None:
        raise HTTPException(404)
    return dict(row._mapping)
