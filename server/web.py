"""GraphiQL without internet: our page (`web/graphiql.html`) and its vendored assets (`web/vendor/`).

strawberry's built-in page loads React and GraphiQL from unpkg; ours loads the same files from
`/static/vendor/`, fetched into the repository by `web/fetch-vendor.sh`. Both are read from the repository
(an editable install), like `data/`.
"""

from __future__ import annotations

from functools import cache

from starlette.responses import HTMLResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from server.settings import REPO_ROOT

WEB_DIR = REPO_ROOT / "web"
VENDOR_DIR = WEB_DIR / "vendor"
VENDOR_URL = "/static/vendor"


@cache
def graphiql_html() -> str:
    """The GraphiQL page, read once."""
    return (WEB_DIR / "graphiql.html").read_text(encoding="utf-8")


def graphiql_response() -> HTMLResponse:
    """`GET /graphql` from a browser: our GraphiQL page instead of strawberry's CDN one."""
    return HTMLResponse(graphiql_html())


def vendor_mount() -> Mount:
    """`/static/vendor/…`: the files of `web/vendor/` only (not the page source or the fetch script)."""
    return Mount(VENDOR_URL, app=StaticFiles(directory=VENDOR_DIR), name="vendor")
