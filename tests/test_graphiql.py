"""GraphiQL works without internet: our page names only local assets, and the app serves every one of them."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from db.database import Database
from server.app import create_app
from server.settings import Settings
from server.web import VENDOR_DIR, VENDOR_URL, WEB_DIR


class _References(HTMLParser):
    """Every `src`/`href` of the page, and the scripts and stylesheets with their `integrity`."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.assets: list[tuple[str, str, str | None]] = []  # (kind, url, integrity)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href"):
            if values.get(name) is not None:
                self.urls.append(values[name] or "")
        if tag == "script" and values.get("src"):
            self.assets.append(("script", values["src"] or "", values.get("integrity")))
        if tag == "link" and values.get("rel") == "stylesheet":
            self.assets.append(("stylesheet", values.get("href") or "", values.get("integrity")))


@pytest.fixture
async def client(db: Database, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, db=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


async def _page(client: httpx.AsyncClient) -> tuple[str, _References]:
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    parser = _References()
    parser.feed(response.text)
    return response.text, parser


async def test_graphiql_page_is_ours(client: httpx.AsyncClient) -> None:
    html, refs = await _page(client)
    assert "<title>Towne Graph · GraphiQL</title>" in html  # not strawberry's CDN page
    assert '<div id="graphiql"' in html and "GraphiQLPluginExplorer.explorerPlugin()" in html
    assert "isHeadersEditorEnabled: true" in html
    assert len([kind for kind, _, _ in refs.assets if kind == "script"]) >= 4
    assert len([kind for kind, _, _ in refs.assets if kind == "stylesheet"]) >= 2


async def test_page_names_no_external_url(client: httpx.AsyncClient) -> None:
    html, refs = await _page(client)
    assert re.findall(r"https?://", html) == []
    assert re.findall(r"""(?:src|href)\s*=\s*["']?\s*//""", html, flags=re.IGNORECASE) == []
    assert refs.urls
    for url in refs.urls:
        assert url.startswith((VENDOR_URL + "/", "data:")), url


async def test_every_asset_is_served_with_its_type_and_integrity(client: httpx.AsyncClient) -> None:
    _, refs = await _page(client)
    for kind, url, integrity in refs.assets:
        response = await client.get(url)
        assert response.status_code == 200, url
        content_type = response.headers["content-type"]
        if kind == "script":
            assert "javascript" in content_type, (url, content_type)
        else:
            assert content_type.startswith("text/css"), (url, content_type)
        assert len(response.content) > 500, url
        # the browser refuses a file whose digest differs from the page's `integrity`
        assert integrity is not None and integrity.startswith("sha384-"), url
        digest = base64.b64encode(hashlib.sha384(response.content).digest()).decode()
        assert integrity == f"sha384-{digest}", url


async def test_stylesheets_load_nothing_remote(client: httpx.AsyncClient) -> None:
    """The fonts and images of the CSS are inline `data:` URIs; nothing is imported."""
    _, refs = await _page(client)
    stylesheets = [url for kind, url, _ in refs.assets if kind == "stylesheet"]
    assert stylesheets
    for url in stylesheets:
        css = (await client.get(url)).text
        assert "@import" not in css, url
        targets = re.findall(r"""url\(\s*["']?([^"')\s]*)""", css)
        assert [target for target in targets if not target.startswith("data:")] == [], url


@pytest.mark.parametrize(
    "path",
    [
        "/static/fetch-vendor.sh",
        "/static/graphiql.html",
        "/static/vendor/..%2Ffetch-vendor.sh",
        "/static/vendor/..%2Fgraphiql.html",
    ],
)
async def test_only_the_vendor_folder_is_served(client: httpx.AsyncClient, path: str) -> None:
    assert (WEB_DIR / "fetch-vendor.sh").is_file()
    response = await client.get(path)
    assert response.status_code == 404
    assert "set -euo pipefail" not in response.text


def _package_folders() -> list[Path]:
    """`web/vendor/<name>@<version>` and `web/vendor/@<scope>/<name>@<version>`."""
    folders: list[Path] = []
    for child in sorted(VENDOR_DIR.iterdir()):
        if child.is_dir():
            folders.extend(sorted(child.iterdir()) if child.name.startswith("@") else [child])
    return folders


def test_each_vendored_package_has_a_licence_and_a_readme_row() -> None:
    folders = _package_folders()
    assert len(folders) >= 4
    readme = (VENDOR_DIR / "README.md").read_text(encoding="utf-8")
    for folder in folders:
        name, _, version = folder.relative_to(VENDOR_DIR).as_posix().rpartition("@")
        assert name and re.fullmatch(r"\d+\.\d+\.\d+", version), folder
        licence = folder / "LICENSE"
        assert licence.is_file() and "Permission is hereby granted" in licence.read_text(encoding="utf-8")
        assert f"| {name} | {version} |" in readme, folder


async def test_every_vendored_package_is_used_by_the_page(client: httpx.AsyncClient) -> None:
    _, refs = await _page(client)
    for folder in _package_folders():
        prefix = f"{VENDOR_URL}/{folder.relative_to(VENDOR_DIR).as_posix()}/"
        assert any(url.startswith(prefix) for _, url, _ in refs.assets), folder
