"""The public portal: the front page (coming meetings, the bodies, search), a body's page
(members, meeting plan, feeds, years), a body's year, the accessibility statement, and the
municipality's logo and colours from the organisation file. No login.

What is shown is assembled by views.portal; a meeting's own page and its PDFs are in
web.public.
"""

from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response
from sqlmodel import Session

from cases.models import utcnow
from cases.settings import current_organisation
from views import portal
from web.auth import CurrentUser, db, optional_user
from web.rendering import page
from workflow.errors import NotFound

router = APIRouter(include_in_schema=False)
CACHED = {"Cache-Control": "public, max-age=3600"}


@router.get("/offentlig")
def front_page(request: Request, session: Session = Depends(db),
               user: CurrentUser | None = Depends(optional_user)):
    org = current_organisation()
    return page(request, "portal_front.html", user=user,
                coming=portal.upcoming(session, org, utcnow()), groups=portal.body_groups(org))


@router.get("/offentlig/organ/{code}")
def body_page(request: Request, code: str, session: Session = Depends(db),
              user: CurrentUser | None = Depends(optional_user)):
    org, now = current_organisation(), utcnow()
    body = org.body(code)
    return page(request, "portal_body.html", user=user, body=body,
                members=portal.members(session, code),
                coming=portal.upcoming(session, org, now, body_code=code, limit=6),
                years=portal.held_years(session, code, now))


@router.get("/offentlig/organ/{code}/{aar}")
def year_page(request: Request, code: str, aar: int, session: Session = Depends(db),
              user: CurrentUser | None = Depends(optional_user)):
    org, now = current_organisation(), utcnow()
    body = org.body(code)
    found = portal.year_meetings(session, org, code, aar, now) if 1900 <= aar <= 2200 else []
    if not found:
        raise NotFound(f"{body.name} har ingen møder med offentliggjort dagsorden i {aar}.")
    return page(request, "portal_year.html", user=user, body=body, year=aar, meetings=found)


@router.get("/offentlig/tilgaengelighed")
def accessibility_statement(request: Request,
                            user: CurrentUser | None = Depends(optional_user)):
    return page(request, "portal_accessibility.html", user=user)


@router.get("/offentlig/logo")
def logo():
    """The municipality's logo from the organisation file (its `logo`)."""
    configured = current_organisation().logo
    if not configured or not Path(configured).is_file():
        raise NotFound("Kommunen har intet logo.")
    return FileResponse(configured, headers=CACHED)


@router.get("/offentlig/farver.css")
def colours():
    """The municipality's colour (the organisation file's `colour`, checked for contrast when
    it is read) over site.css's default."""
    css = f":root {{ --accent:{current_organisation().colour}; }}\n"
    return Response(css, media_type="text/css", headers=CACHED)
