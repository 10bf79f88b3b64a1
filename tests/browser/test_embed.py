"""End to end in headless Chromium: the tip card renders inside a page of another origin
(a second local server on another port), with no CSP violation, and its link leads to the
tip jar; a page that must not be framed stays blank inside the same host page."""

from __future__ import annotations

import http.server
import socketserver
import threading

import pytest
from playwright.sync_api import sync_playwright

from accounts.services import user_signup


class _HostPage(http.server.BaseHTTPRequestHandler):
    """Another site: one page that frames our embed and, for contrast, our profile."""

    html = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.html)

    def log_message(self, *args):
        pass


@pytest.fixture
def other_origin():
    server = socketserver.TCPServer(("127.0.0.1", 0), _HostPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_tip_card_renders_inside_another_origin(live_server, other_origin):
    creator = user_signup(
        handle="embedme",
        email="embedme@example.com",
        password="a long passphrase 42",
        display_name="Emma Bed",
    )
    _HostPage.html = (
        f"<!doctype html><h1>A blog</h1>"
        f'<iframe id="card" src="{live_server.url}/embed/tip/{creator.handle}"></iframe>'
        f'<iframe id="profile" src="{live_server.url}/@{creator.handle}"></iframe>'
    ).encode()
    host = f"http://127.0.0.1:{other_origin.server_address[1]}/"
    assert host.split(":")[2] != live_server.url.split(":")[2]  # two ports: two origins
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(host)
        card = page.frame_locator("#card")
        link = card.get_by_role("link", name="Tip @embedme")
        link.wait_for()
        assert card.get_by_role("heading").inner_text() == "Support Emma Bed"
        assert link.get_attribute("href") == f"{live_server.url}/tip/{creator.handle}"
        assert link.get_attribute("target") == "_blank"
        # The profile refuses to be framed: its frame never gets our page.
        page.wait_for_timeout(500)
        assert page.frame_locator("#profile").locator("#profile-name").count() == 0
        browser.close()
    refused = [e for e in errors if "frame" in e.lower() or "Content Security Policy" in e]
    assert all("/embed/" not in e for e in refused), refused
