"""The job page a tech opens from a job's calendar event on the phone (/job/<token>), as one Mount.

`job_routes(...)` is the one thing the office service (and `crewboard demo`) mounts. The page is
read-only; what it shows comes only through a token that verifies (app.services.job_links).
"""

from __future__ import annotations

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from app.services.job_links import JobPageService
from app.web.job.pages import STATIC, TEMPLATES, JobSite

__all__ = ["job_routes"]


def job_routes(page: JobPageService, *, business_name: str = "Crewboard") -> list[BaseRoute]:
    """Routes for /job: the page of one job by its token, and the page's stylesheet."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True), auto_reload=False
    )
    site = JobSite(page, business_name, Jinja2Templates(env=environment))
    routes: list[BaseRoute] = [
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
        Route("/{token}", site.show, methods=["GET", "HEAD"], name="page"),
    ]
    return [Mount("/job", routes=routes, name="job")]
