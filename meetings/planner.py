"""Backward route planning through the meeting calendar. Pure: no database, no clock.

Given the stages a case still has to pass (committees in parallel → ØU → KB), the meeting
days of each body and a deadline, find the latest meeting at each stage:

* the last stage meets on or before the deadline;
* an earlier stage meets on or before the day the next stage's agenda goes out (the case
  must be in the next body's queue when its agenda is sent: for ØU the Tuesday before a KB
  Monday, the same day as KB's agenda-out);
* each step's submission deadline is the body's internal deadline before that meeting;
* a hearing must close at the latest the weekday before the first committee's submission
  deadline, so that the responses can go into the case.

The route fits as long as no step's submission deadline has passed. It no longer fits from
the day after the earliest submission deadline of the latest possible route: that is the day
to flag the case, not the deadline itself (`no_longer_fits_since`).
"""

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, timedelta

from cases.dates import format_date
from cases.organisation import Organisation
from meetings.calendar import agenda_deadlines, rules_for, weekdays_before
from workflow.machine import COMMITTEE, COUNCIL, DRAFT, FINANCE, HEARING, CaseFlow


@dataclass(frozen=True)
class Step:
    body_code: str
    meeting: date
    submission: date
    agenda_out: date
    material: date


@dataclass(frozen=True)
class RoutePlan:
    deadline: date
    stages: tuple[tuple[str, ...], ...]
    steps: tuple[Step, ...] = ()  # in route order; empty when some stage has no meeting
    hearing_closes_by: date | None = None
    no_longer_fits_since: date | None = None  # None with no steps: it never fitted
    problem: str = ""  # why there is no route at all, in Danish
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def complete(self) -> bool:
        return bool(self.steps)

    def fits(self, today: date) -> bool:
        """Can the route still be made, seen from `today`?"""
        return self.complete and today < self.no_longer_fits_since

    def describe(self, today: date) -> list[str]:
        """The plan as lines of Danish text (command line, emails)."""
        lines = [f"Frist: {format_date(self.deadline)}"]
        if not self.complete:
            return lines + [f"Ruten kan ikke nås: {self.problem}"]
        for step in self.steps:
            lines.append(f"{step.body_code:<5} møde {format_date(step.meeting)}  "
                         f"indsendelse senest {format_date(step.submission)}, "
                         f"dagsorden ud {format_date(step.agenda_out)}")
        if self.hearing_closes_by:
            lines.append(f"En høring skal være afsluttet senest "
                         f"{format_date(self.hearing_closes_by)}.")
        if self.fits(today):
            lines.append(f"Ruten holder, hvis sagen indsendes senest "
                         f"{format_date(self.no_longer_fits_since - timedelta(days=1))}.")
        else:
            lines.append(f"Ruten kan ikke længere nås før fristen; det har været tilfældet "
                         f"siden {format_date(self.no_longer_fits_since)}.")
        return lines


def plan_route(*, stages: list[list[str]], deadline: date, calendar: dict[str, list[date]],
               org: Organisation) -> RoutePlan:
    """The latest route through `stages` (each a list of bodies meeting in parallel)."""
    frozen = tuple(tuple(stage) for stage in stages if stage)
    if not frozen:
        return RoutePlan(deadline=deadline, stages=frozen, problem="Sagen har ingen trin tilbage.")
    latest_allowed = deadline
    planned: list[list[Step]] = []
    for stage in reversed(frozen):
        steps = []
        for code in stage:
            day = _latest_meeting(calendar.get(code, []), latest_allowed)
            if day is None:
                return RoutePlan(deadline=deadline, stages=frozen, problem=(
                    f"{code} har intet møde senest {format_date(latest_allowed)} i mødeplanen."))
            found = agenda_deadlines(org.body(code), day, rules_for(org, code))
            steps.append(Step(code, day, found.submission, found.agenda_out, found.material))
        planned.insert(0, steps)
        latest_allowed = min(step.agenda_out for step in steps)
    ordered = tuple(step for stage in planned for step in stage)
    first_committees = [s for s in planned[0] if org.body(s.body_code).is_committee]
    hearing = None
    if first_committees:
        first_submission = min(s.submission for s in first_committees)
        hearing = weekdays_before(first_submission, 1, rules_for(org, first_committees[0]
                                                                 .body_code))
    return RoutePlan(deadline=deadline, stages=frozen, steps=ordered, hearing_closes_by=hearing,
                     no_longer_fits_since=min(s.submission for s in ordered) + timedelta(days=1))


def _latest_meeting(days: list[date], latest: date) -> date | None:
    ordered = sorted(days)
    index = bisect_right(ordered, latest)
    return ordered[index - 1] if index else None


def remaining_stages(flow: CaseFlow) -> list[list[str]]:
    """The stages a case still has to pass, from its workflow state."""
    state = flow.state
    stages: list[list[str]] = []
    if state in (DRAFT, HEARING) and flow.committees:
        stages.append(list(flow.committees))
    elif state == COMMITTEE and flow.pending:
        stages.append(list(flow.pending))
    # Referred by the council: back to it with the finance committee's statement standing.
    back_to_council = state == COMMITTEE and flow.return_stage == COUNCIL
    before_finance = state in (DRAFT, HEARING, COMMITTEE, FINANCE) and not back_to_council
    if flow.deciding_stage in (FINANCE, COUNCIL) and flow.finance_body and before_finance:
        stages.append([flow.finance_body])
    if flow.deciding_stage == COUNCIL and flow.council_body and (
            before_finance or back_to_council or state == COUNCIL):
        stages.append([flow.council_body])
    return stages


def no_longer_fits(plan: RoutePlan | None, today: date) -> bool:
    """For reminders and escalation: a planned route that can no longer be made."""
    return plan is not None and not plan.fits(today)
