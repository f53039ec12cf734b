"""Browser tests: Playwright driving Debian's Chromium against the live gunicorn `server`.

Every page a test opens is watched: a console error, an uncaught exception or a request to any
host but the server under test fails the test, and a screenshot is saved under artifacts/.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
STAFF = ("maps-staff", "maps-staff-pass-1")
APPLICANT = ("maps-applicant", "maps-applicant-pass-1")
# Playwright's sync API keeps an event loop running in this thread; Django then refuses database
# calls from it unless told that these (test-only, single-threaded) calls are fine.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def chromium(django_db_setup, server):
    import playwright.sync_api as playwright_sync
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed (/usr/bin/chromium): `make test` installs it")
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def staff_user(django_db_setup, django_db_blocker):
    """A county planner of both demo cities' counties: internal layers (not the restricted red line)
    and the demo projects."""
    from blueprint.models import AccessProfile, Role

    with django_db_blocker.unblock():
        user, _ = get_user_model().objects.get_or_create(username=STAFF[0], defaults={"is_staff": True})
        user.is_staff = True
        user.set_password(STAFF[1])
        user.save()
        AccessProfile.objects.update_or_create(user=user, defaults={
            "role": Role.COUNTY_PLANNER, "districts": ["370800", "420600"]})
    return user


class Watched:
    """A page plus what it did wrong: console errors, page errors, requests to other hosts."""

    def __init__(self, page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.console_errors: list[str] = []
        self.foreign: list[str] = []
        self.allowed_console: list[re.Pattern] = []

    def allow_console(self, pattern: str) -> None:
        """Accept a console error the test provokes on purpose (e.g. a 400 it asked for)."""
        self.allowed_console.append(re.compile(pattern))

    def problems(self) -> list[str]:
        errors = [e for e in self.console_errors if not any(p.search(e) for p in self.allowed_console)]
        return [f"console: {e}" for e in errors] + [f"request to another host: {u}" for u in self.foreign]

    def click_polygon(self, button: str, corners: list[tuple[int, int]]) -> None:
        """Press a drawing button, click the corners on the map, and close the ring on the first."""
        box = self.page.locator(".folium-map").bounding_box()
        self.page.click(button)
        for x, y in [*corners, corners[0]]:
            self.page.mouse.click(box["x"] + x, box["y"] + y)
            self.page.wait_for_timeout(150)

    def wait_idle(self, timeout: float = 15_000) -> None:
        """Wait until the map script has started and no layer request is in flight."""
        self.page.wait_for_function("() => window.BP && BP.map && BP.idle()", timeout=timeout)


@pytest.fixture
def watched_factory(request, chromium, server):
    """Open watched pages: `open(viewport=…, language=…, mobile=…)`; each is screenshot and judged
    at the end (a phone: 390 × 844, touch; language "en" sets the language cookie)."""
    opened = []

    def open_page(viewport=None, language: str = "zh-hans", mobile: bool = False, suffix: str = ""):
        context = chromium.new_context(base_url=server, accept_downloads=True,
                                       locale="en-US" if language == "en" else "zh-CN",
                                       viewport=viewport or {"width": 1400, "height": 900},
                                       is_mobile=mobile, has_touch=mobile,
                                       device_scale_factor=2 if mobile else 1)
        if language == "en":
            context.add_cookies([{"name": "django_language", "value": "en", "url": server}])
        page = context.new_page()
        watch = Watched(page, server)
        own = urlsplit(server).netloc

        def route(route_, req):
            target = urlsplit(req.url)
            if target.scheme in ("data", "blob") or target.netloc == own:
                route_.continue_()
            else:
                watch.foreign.append(req.url)
                route_.abort()

        context.route("**/*", route)
        page.on("console", lambda msg: msg.type == "error" and watch.console_errors.append(
            f"{msg.text} @ {msg.location.get('url', '')}"))
        page.on("pageerror", lambda exc: watch.console_errors.append(f"uncaught: {exc}"))
        opened.append((watch, context, suffix))
        return watch

    yield open_page
    ARTIFACTS.mkdir(exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    problems = []
    for watch, context, suffix in opened:
        try:
            watch.page.screenshot(path=str(ARTIFACTS / f"maps-{name}{suffix}.png"))
        finally:
            context.close()
        problems += watch.problems()
    assert not problems, "\n".join(problems)


@pytest.fixture
def watched(watched_factory):
    """A fresh browser context on the server, watched; screenshot and verdict at the end."""
    return watched_factory()


def sign_in_page(watched, credentials: tuple[str, str], login: str, then: str):
    """Sign the watched page in through a login form, landing on `then`."""
    page = watched.page
    page.goto(f"{login}?next={then}")
    page.fill("#id_username", credentials[0])
    page.fill("#id_password", credentials[1])
    page.click("[type=submit]")
    page.wait_for_url(f"**{then}")
    return watched


@pytest.fixture
def staff(watched, staff_user):
    """The watched page, signed in through the admin login form as the county planner."""
    return sign_in_page(watched, STAFF, "/admin/login/", "/maps/")


@pytest.fixture(scope="session")
def applicant_user(django_db_setup, django_db_blocker):
    """An applicant (建设单位) account: public layers, its own checks."""
    from blueprint.models import AccessProfile, Role

    with django_db_blocker.unblock():
        user, _ = get_user_model().objects.get_or_create(username=APPLICANT[0])
        user.set_password(APPLICANT[1])
        user.save()
        AccessProfile.objects.update_or_create(user=user, defaults={"role": Role.APPLICANT})
    return user


@pytest.fixture
def applicant(watched, applicant_user):
    """The watched page, signed in on the Chinese login page as an applicant."""
    return sign_in_page(watched, APPLICANT, "/accounts/login/", "/maps/preview")
