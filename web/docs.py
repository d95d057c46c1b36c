"""The API's documentation page, /api/docs: Swagger UI from this site's own files
(web/static/swagger-ui, vendored with its licence), so it works offline and runs under the same
Content-Security-Policy as every page: FastAPI's own page loads Swagger UI from a CDN and
starts it with an inline script, which the policy forbids."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from cases.templating import environment

router = APIRouter(include_in_schema=False)


@router.get("/api/docs")
def api_docs(request: Request) -> HTMLResponse:
    html = environment().get_template("web/api_docs.html").render(
        title=request.app.title, openapi_url=request.app.openapi_url)
    return HTMLResponse(html)
