"""Search pages and API: /soeg (logged in), /offentlig/soeg (the public), /api/search (token).

What each one finds is decided by meetings.search, hit by hit, with the closed-item rule:
the public page searches as the public (published agendas, no lukket punkt's text, no Bilag
that is not public) even for someone logged in, as it is the page the public sees.
"""

from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from sqlmodel import Session

from cases.settings import current_organisation
from meetings import search as index
from web.auth import CurrentUser, db, optional_user, require
from web.rendering import page
from workflow import access
from workflow.errors import InvalidInput
from workflow.machine import STATE_LABELS

router = APIRouter()

Words = Query("", max_length=200, description='Søgeord: alle skal findes; "en frase", '
                                               "-udelad, ORD OR ORD")
Organ = Query("", max_length=20, description="Kun dette organ (fx SU)")
Year = Query("", max_length=4, description="Kun dette år (fx 2022)")
State = Query("", max_length=20, description="Kun sager i denne tilstand")
Count = Query(20, ge=1, le=100, description="Højst så mange resultater")


def link(hit: index.Hit, public: bool) -> str:
    """Where a hit is read: the public agenda, or the case or meeting page."""
    anchor = f"#punkt-{hit.item_number}" if hit.item_number else ""
    if public:
        return f"/offentlig/moeder/{hit.meeting_id}{anchor}" if hit.meeting_id else ""
    if hit.case_number:
        return "/sager/" + quote(hit.case_number, safe="")
    return f"/moeder/{hit.meeting_id}{anchor}" if hit.meeting_id else ""


def _results(session: Session, viewer: access.Viewer, q: str, organ: str, aar: str,
             tilstand: str, antal: int):
    org = current_organisation()
    chosen = index.filters(org, body=organ, year=aar, state=tilstand)
    return index.search(org, session, q, viewer, chosen, limit=antal) if q.strip() \
        else index.Results()


def _page(request: Request, user, viewer, public: bool, session, q, organ, aar, tilstand,
          antal):
    error = None
    try:
        results = _results(session, viewer, q, organ, aar, tilstand, antal)
    except InvalidInput as refused:
        results, error = index.Results(), refused.message
    return page(request, "search.html", user=user, public=public, q=q, organ=organ, aar=aar,
                tilstand=tilstand, antal=antal, results=results, error=error,
                link=lambda hit: link(hit, public), states=STATE_LABELS,
                action="/offentlig/soeg" if public else "/soeg")


@router.get("/soeg", include_in_schema=False)
def search_page(request: Request, q: str = Words, organ: str = Organ, aar: str = Year,
                tilstand: str = State, antal: int = Count,
                user: CurrentUser = Depends(require("view_cases")),
                session: Session = Depends(db)):
    return _page(request, user, user.viewer, False, session, q, organ, aar, tilstand, antal)


@router.get("/offentlig/soeg", include_in_schema=False)
def public_search_page(request: Request, q: str = Words, organ: str = Organ, aar: str = Year,
                       tilstand: str = State, antal: int = Count,
                       user: CurrentUser | None = Depends(optional_user),
                       session: Session = Depends(db)):
    return _page(request, user, access.PUBLIC, True, session, q, organ, aar, tilstand, antal)


@router.get("/api/search", tags=["søgning"],
            summary="Søg i sager, punkter, beslutninger, bilag og høringssvar")
def search_api(q: str = Words, organ: str = Organ, aar: str = Year, tilstand: str = State,
               antal: int = Count, user: CurrentUser = Depends(require("view_cases", api=True)),
               session: Session = Depends(db)):
    """Det, brugeren må læse: lukkede punkter kun for dem, der må læse dem. Titler og
    uddrag som HTML med `<mark>` om de fundne ord (alt andet er escapet)."""
    results = _results(session, user.viewer, q, organ, aar, tilstand, antal)
    return {"hits": [{**hit.as_dict(), "url": link(hit, False)} for hit in results.hits],
            "more": results.more}
