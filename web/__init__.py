"""The web application: pages for the secretariat and managers, a public side, a JSON API
and calendar feeds (served by `uvicorn web.app:app`)."""
