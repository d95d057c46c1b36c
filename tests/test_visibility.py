"""The closed rule's answer is kept for one transaction of a session (a page asks it for its
text, its Bilag and its history), and never past a change: not past a flush, not while a
change waits to be flushed, not past the end of the transaction."""

import pytest
from query_count import queries_during
from sqlmodel import select
from test_meetings import PLAN, at, new_case, place

from cases.db import read_session, write_session
from cases.models import Case
from meetings import services
from meetings.models import AgendaItem
from meetings.plan import load_plan
from meetings.visibility import case_is_closed, closed_cases


@pytest.fixture
def placed(engine, org):
    """V-1 on Socialudvalget's agenda of 04-10-2022, open; its item's id."""
    with write_session(engine) as session:
        services.import_plan(session, load_plan(PLAN, org), org=org, now=at("01-08"))
        new_case(session, org, "V-1")
        return place(session, org, "SU", "04-10", "V-1").id


def the_case(session) -> Case:
    return session.exec(select(Case).where(Case.number == "V-1")).one()


def test_a_second_ask_in_the_same_transaction_costs_no_query(engine, placed):
    with read_session(engine) as session:
        case = the_case(session)
        assert queries_during(lambda: case_is_closed(session, case), engine)[0] == 1
        assert queries_during(lambda: closed_cases(session, [case]), engine)[0] == 0
        assert not case_is_closed(session, case)


def test_an_item_closed_in_the_same_session_closes_the_case_at_once(engine, placed):
    with write_session(engine) as session:
        case = the_case(session)
        assert not case_is_closed(session, case)
        services.set_closed(session, placed, True)  # flushed
        assert case_is_closed(session, case)
        services.set_closed(session, placed, False)
        assert not case_is_closed(session, case)
        item = session.get(AgendaItem, placed)
        item.closed = True  # not flushed yet
        session.add(item)
        assert case_is_closed(session, case)


def test_a_read_session_sees_a_closing_committed_elsewhere_once_its_transaction_ends(
        engine, placed):
    with read_session(engine) as reader:
        case = the_case(reader)
        assert not case_is_closed(reader, case)
        with write_session(engine) as writer:
            services.set_closed(writer, placed, True)
        reader.commit()  # the read transaction ends (as before a web request's write)
        assert case_is_closed(reader, case)
