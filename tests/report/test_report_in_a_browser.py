"""The HTML report opened in a real headless browser (Debian's chromium): it renders, and fetches nothing.

Chromium runs with every request sent to a local proxy that records it; its
own background services (Google time and update checks) are set aside. A
page with one external image, opened the same way, proves the proxy sees a
page's fetches.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUMS_OWN = ("google.com", "googleapis.com", "gvt1.com")


class RecordingProxy:
    """A TCP listener that keeps the first line of every request sent to it, and answers nothing."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.1)
        self.port = self.server.getsockname()[1]
        self.requests: list[str] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                with contextlib.suppress(OSError):
                    self.requests.append(conn.recv(512).decode(errors="replace").split("\r\n")[0])

    def page_fetches(self) -> list[str]:
        """Requests that are not chromium's own background traffic."""
        return [r for r in self.requests if not any(own in r for own in CHROMIUMS_OWN)]

    def close(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.server.close()


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    recording = RecordingProxy()
    yield recording
    recording.close()


def open_in_chromium(page: Path, proxy: RecordingProxy, tmp_path: Path) -> str:
    """The page's DOM after chromium rendered it."""
    assert CHROMIUM is not None
    result = subprocess.run(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
         "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
         f"--user-data-dir={tmp_path / 'profile'}", f"--proxy-server=http://127.0.0.1:{proxy.port}",
         "--proxy-bypass-list=<-loopback>", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (`make tools` installs it as root)")
def test_the_html_report_renders_in_chromium_and_fetches_nothing(project, run_check, proxy, tmp_path):
    assert run_check(project).returncode == 0
    dom = open_in_chromium(project / "reports/report.html", proxy, tmp_path)
    assert 'Migration gate: <span class="passed">PASSED</span>' in dom
    assert '<table class="grid">' in dom and "<code>public.notes</code>" in dom
    # The select cells' RLS cost: the slower of the cell's reads, with its figures.
    assert re.search(r'<small class="cost" title="(page|count|own page) as writer: [0-9.]+ ms, as service_role', dom)
    assert "Migrations: results per suite" in dom
    assert proxy.page_fetches() == []


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (`make tools` installs it as root)")
def test_the_proxy_sees_what_a_page_fetches(proxy, tmp_path):
    page = tmp_path / "external.html"
    page.write_text('<!doctype html><img src="http://example.test/pixel.png">')
    open_in_chromium(page, proxy, tmp_path)
    assert any("example.test/pixel.png" in request for request in proxy.page_fetches())


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (`make tools` installs it as root)")
def test_each_migrations_lock_profile_is_a_timeline_per_table_in_chromium(project, run_check, proxy, tmp_path):
    (project / "supabase/migrations/20240103000000_notes_body.sql").write_text(
        "set local lock_timeout = '5s';\ncreate index notes_body_idx on public.notes (body);\n"
    )
    (project / "supabase/rollbacks/20240103000000_notes_body.down.sql").write_text(
        "drop index if exists public.notes_body_idx;\n"
    )
    # squawk flags the build (the static suite would fail it) and a re-run fails: the profile is what is shown
    assert run_check(project, "--pg-suites=static=off idempotency=off").returncode == 0
    dom = open_in_chromium(project / "reports/report.html", proxy, tmp_path)
    assert "<td>2</td><td>squawk only</td><td>require-concurrent-index-creation: " in dom
    timeline = dom[dom.index('<h3 id="profile-20240103000000_notes_body.sql">') :].split("</svg>")[0]
    assert '<svg class="timeline"' in timeline  # parsed as SVG, not left as text
    assert '<text x="0" y="38" font-size="12">public.notes</text>' in timeline
    (bar,) = [part for part in timeline.split("<rect")[1:] if 'class="lock"' in part]
    assert 'fill="#e67e22"' in bar and "<title>ShareLock from line 2: held " in bar and "blocks writers" in bar
    statements = [part for part in timeline.split("<rect")[1:] if 'class="statement"' in part]
    assert any("<title>line 2: " in part and "create index notes_body_idx" in part for part in statements)
    assert proxy.page_fetches() == []
