"""The people of bench.load, as Locust users: the public and members reading agendas and
cases, managers on the dashboard, case owners editing their cases, the secretariat recording
decisions and publishing agendas. Each logs in through the login form, as a person does.

Started by bench.load (`locust -f bench/locustfile.py --headless ...`); what to read and
change comes from the plan file it names in SAGSGANG_LOAD_PLAN (JSON, made by bench.load).
SAGSGANG_LOAD_WAIT: "mix" (people pausing 1-3 s between pages), else no pause at all
(throughput: every user sends its next request at once). SAGSGANG_LOAD_WARMUP: seconds
after which the figures start afresh (the logins, the first template compilations and the
processes' start are behind by then).

The users are FastHttpUsers (geventhttpclient), not HttpUsers (requests): on two cores the
load generator shares the machine with what it measures, and requests costs several times
the CPU per request, taken from the web processes and PostgreSQL.
"""

import html
import itertools
import json
import os
import random
import re
from datetime import date, timedelta

import gevent
from locust import FastHttpUser, between, constant, events, task

PLAN = json.loads(open(os.environ["SAGSGANG_LOAD_PLAN"], encoding="utf-8").read())
WAIT = between(1, 3) if os.environ.get("SAGSGANG_LOAD_WAIT") == "mix" else constant(0)
WARMUP = float(os.environ.get("SAGSGANG_LOAD_WARMUP", "0"))

# Each changing user takes things of its own (a case, a meeting): no two users change the
# same case, so every refusal (409 on a stale version, say) is a real error.
OWNER_CASES = iter(PLAN["owner_cases"])
DECISION_CASES = iter(PLAN["decision_cases"])
PUBLISH_SLOTS = iter(PLAN["publish_slots"])
DECISION_DAYS = itertools.count(1)

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')
INPUT = re.compile(r'<input(?=[^>]*\bname="([^"]+)")(?=[^>]*\bvalue="([^"]*)")[^>]*>')
TEXTAREA = re.compile(r'<textarea[^>]*\bname="([^"]+)"[^>]*>(.*?)</textarea>', re.S)
REVISION = re.compile(r" \(rev\. \d+\)$")


@events.test_start.add_listener
def figures_after_warmup(environment, **kwargs):
    if WARMUP:
        gevent.spawn_later(WARMUP, environment.stats.reset_all)


def form_values(page: str) -> dict:
    values = {name: html.unescape(value) for name, value in INPUT.findall(page)}
    values |= {name: html.unescape(value) for name, value in TEXTAREA.findall(page)}
    return values


class Person(FastHttpUser):
    abstract = True
    wait_time = WAIT
    username = password = ""

    def on_start(self):
        if not self.username:
            return
        page = self.client.get("/login", name="/login").text
        with self.client.post("/login", name="/login (post)", allow_redirects=False,
                              data={"username": self.username, "password": self.password,
                                    "csrf_token": CSRF.search(page).group(1)},
                              catch_response=True) as response:
            if response.status_code != 303:
                response.failure(f"login {self.username}: {response.status_code}")

    def read_case(self):
        self.client.get(f"/sager/{random.choice(PLAN['case_numbers'])}", name="/sager/[nr]")

    def post_form(self, path: str, name: str, data: dict):
        """A form post answered by a redirect (303) is a success; anything else a failure."""
        with self.client.post(path, name=name, data=data, allow_redirects=False,
                              catch_response=True) as response:
            if response.status_code != 303:
                response.failure(f"{response.status_code}: {response.text[:200]}")


class Public(Person):
    weight = 40

    @task(2)
    def front_page(self):
        self.client.get("/offentlig", name="/offentlig")

    @task(3)
    def agenda(self):
        self.client.get(f"/offentlig/moeder/{random.choice(PLAN['meetings'])}",
                        name="/offentlig/moeder/[id]")


class Member(Person):
    weight = 25
    username, password = PLAN["logins"]["member"]

    @task(1)
    def meetings(self):
        self.client.get("/moeder", name="/moeder")

    @task(3)
    def agenda(self):
        meetings = PLAN["live_meetings"] if random.random() < 0.5 else PLAN["meetings"]
        self.client.get(f"/moeder/{random.choice(meetings)}", name="/moeder/[id]")

    @task(3)
    def case(self):
        self.read_case()


class Manager(Person):
    weight = 10
    username, password = PLAN["logins"]["manager"]

    @task(3)
    def dashboard(self):
        self.client.get("/overblik", name="/overblik")

    @task(1)
    def case(self):
        self.read_case()


class CaseOwner(Person):
    weight = 15
    username, password = PLAN["logins"]["case_owner"]

    def on_start(self):
        super().on_start()
        self.number = next(OWNER_CASES)
        self.revision = 0

    @task(2)
    def case(self):
        self.read_case()

    @task(1)
    def edit(self):
        """Open the edit form of one's own case and change its summary."""
        page = self.client.get(f"/sager/{self.number}/rediger", name="/sager/[nr]/rediger").text
        values = form_values(page)
        self.revision += 1
        values["summary"] = REVISION.sub("", values.get("summary", "")) + \
            f" (rev. {self.revision})"
        self.post_form(f"/sager/{self.number}/rediger", "/sager/[nr]/rediger (post)", values)


class Secretariat(Person):
    weight = 10
    username, password = PLAN["logins"]["secretariat"]

    def on_start(self):
        super().on_start()
        self.number = next(DECISION_CASES)
        self.slot = next(PUBLISH_SLOTS)
        self.placeable = iter(self.slot["cases"])

    @task(4)
    def decision(self):
        """Open the case and record «Udsat» for a meeting a week earlier each time (a
        decision is recorded from its meeting's day on, never before)."""
        page = self.client.get(f"/sager/{self.number}", name="/sager/[nr]").text
        day = date.today() - timedelta(days=7 * next(DECISION_DAYS))
        self.post_form(f"/sager/{self.number}/beslutning", "/sager/[nr]/beslutning (post)", {
            "csrf_token": CSRF.search(page).group(1),
            "version": VERSION.search(page).group(1), "form": "beslutning", "body": "SU",
            "wording": "udsat", "meeting_date": day.strftime("%d-%m-%Y"), "item_number": "",
            "decision_text": "Udsat til næste møde.", "minority": "", "reason": "",
            "override_reason": ""})

    @task(1)
    def publish(self):
        """Put the next case on one's meeting and publish it (the agenda, then
        tillægsdagsordener): publishing renders the PDFs as production does."""
        number = next(self.placeable, None)
        if number is None:  # all placed: a decision instead (a task must send something)
            return self.decision()
        meeting = self.slot["meeting"]
        page = self.client.get(f"/moeder/{meeting}", name="/moeder/[id]").text
        token = CSRF.search(page).group(1)
        self.post_form(f"/moeder/{meeting}/placer", "/moeder/[id]/placer (post)",
                       {"csrf_token": token, "number": number, "late_reason": ""})
        self.post_form(f"/moeder/{meeting}/offentliggoer", "/moeder/[id]/offentliggoer (post)",
                       {"csrf_token": token, "confirmed": "ja", "late_reason": ""})


class Floor(FastHttpUser):
    """The floor: one indexed query behind a bare FastAPI endpoint (bench.floor), under the
    same users and pauses."""
    wait_time = WAIT

    @task
    def one_query(self):
        self.client.get(f"/floor/{random.choice(PLAN['case_numbers'])}", name="/floor/[nr]")
