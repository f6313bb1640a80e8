"""The two ways the env visits the site: over plain HTTP (text mode) or in headless Chromium (browser mode).

Both take the same three gestures, ``open(path)``, ``search(page, keywords)`` and ``click(page, clickable)``,
and answer the page's HTML and URL, which `read_page` turns into the observation; so one action sequence
gives the same observations in both modes. `HttpBrowser` submits the forms and follows the links the page
holds; `ChromeBrowser` fills in the search box and presses the very element the page shows, through
selenium and the system's chromedriver (nothing is downloaded).
"""

from __future__ import annotations

import http.client
import json
import shutil
import tempfile
from pathlib import Path
from typing import Protocol
from urllib.parse import urlencode, urlsplit

from serl_bench.errors import SerlBenchError

from ._server import SiteError
from ._text import CLICKABLE_SELECTOR, Clickable, Page

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
CHROMEDRIVER_NAMES = ("chromedriver",)
CHROME_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
               "--disable-extensions", "--window-size=1280,1024")
MAX_REDIRECTS = 5
_MARK = "window.serlLeaving = true;"  # set on the page a gesture leaves; a new page does not have it
_LOADED = ("return !window.serlLeaving && document.readyState === 'complete' ? "
           "[document.documentElement.outerHTML, location.href] : null;")
INSTALL_HINT = "install them with: apt-get install chromium chromium-driver"


class BrowserError(SerlBenchError, RuntimeError):
    """Browser mode cannot run: Chromium or its driver is missing or failed."""


class Browser(Protocol):
    def open(self, path: str) -> tuple[str, str]: ...

    def search(self, page: Page, keywords: str) -> tuple[str, str]: ...

    def click(self, page: Page, clickable: Clickable) -> tuple[str, str]: ...

    def close(self) -> None: ...


class HttpBrowser:
    """Text mode's browser: submits the page's forms and follows its links over HTTP.

    Plain ``http.client``, one connection a request: werkzeug's server closes every connection after its
    response (it has no keep-alive), so a pooling client (httpx, requests) would only add its own overhead,
    about 0.8 ms a request.
    """

    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url, self.timeout = base_url, timeout
        parts = urlsplit(base_url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80

    def open(self, path: str) -> tuple[str, str]:
        return self.request("get", path)

    def search(self, page: Page, keywords: str) -> tuple[str, str]:
        if page.search_url is None:
            raise ValueError("this page has no search box")
        return self.request("get", page.search_url, params={"keywords": keywords, "page": "1"})

    def click(self, page: Page, clickable: Clickable) -> tuple[str, str]:
        return self.request(clickable.method, clickable.url)

    def request(self, method: str, path: str, params: dict[str, str] | None = None) -> tuple[str, str]:
        """``method path`` on the site: the answer's text and URL (redirects followed); a site that does
        not answer is a SiteError."""
        if params:
            path += ("&" if "?" in path else "?") + urlencode(params)
        for _ in range(MAX_REDIRECTS):
            status, location, text = self._exchange(method.upper(), path)
            if status not in (301, 302, 303, 307, 308) or not location:
                return text, self.base_url + path
            path, method = urlsplit(location)._replace(scheme="", netloc="").geturl(), "get"
        raise SiteError(f"the WebShop site at {self.base_url} redirected more than {MAX_REDIRECTS} times")

    def json(self, path: str, method: str = "get") -> dict:
        text, _ = self.request(method, path)
        try:
            return json.loads(text)
        except ValueError:
            raise SiteError(f"the WebShop site answered {path} with something that is not JSON: {text[:80]!r}") \
                from None

    def _exchange(self, method: str, path: str) -> tuple[int, str | None, str]:
        connection = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        try:
            connection.request(method, path)
            response = connection.getresponse()
            return response.status, response.getheader("Location"), response.read().decode("utf-8", "replace")
        except TimeoutError:
            raise SiteError(f"the WebShop site at {self.base_url} did not answer {method} {path[:80]} within "
                            f"{self.timeout:g} s; is its server overloaded or stopped?") from None
        except (OSError, http.client.HTTPException) as exc:
            raise SiteError(f"the WebShop site at {self.base_url} is not answering ({type(exc).__name__}: "
                            f"{str(exc)[:120]}); its server has stopped: make a new env") from None
        finally:
            connection.close()

    def close(self) -> None:
        pass


def find_chrome(chromium: str | None = None, chromedriver: str | None = None) -> tuple[str, str]:
    """Paths to Chromium and chromedriver: the ones given, else the first found on ``PATH``."""
    found = [_find(chromium, CHROMIUM_NAMES), _find(chromedriver, CHROMEDRIVER_NAMES)]
    missing = [f"{what} ({given or ', '.join(names)})" for path, what, given, names in
               zip(found, ("Chromium", "chromedriver"), (chromium, chromedriver), (CHROMIUM_NAMES, CHROMEDRIVER_NAMES),
                   strict=True) if path is None]
    if missing:
        raise BrowserError(f"browser mode needs Chromium and chromedriver; not found: {'; '.join(missing)}; "
                           f"{INSTALL_HINT}")
    return found[0], found[1]


def _find(given: str | None, names: tuple[str, ...]) -> str | None:
    if given is not None:
        path = Path(given)
        return str(path) if path.is_file() else shutil.which(given)
    return next((p for p in map(shutil.which, names) if p), None)


class ChromeBrowser:
    """Browser mode's browser: headless Chromium driven by selenium, with a fresh profile in a temp dir."""

    def __init__(self, base_url: str, timeout: float, *, chromium: str | None = None,
                 chromedriver: str | None = None) -> None:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service

        binary, driver = find_chrome(chromium, chromedriver)
        self.base_url, self.timeout = base_url, timeout
        self._profile = tempfile.mkdtemp(prefix="serl-webshop-chromium-")
        options = Options()
        options.binary_location = binary
        for arg in (*CHROME_ARGS, f"--user-data-dir={self._profile}"):
            options.add_argument(arg)
        try:
            self._driver = webdriver.Chrome(service=Service(executable_path=driver), options=options)
        except WebDriverException as exc:
            shutil.rmtree(self._profile, ignore_errors=True)
            raise BrowserError(f"Chromium ({binary}) did not start under {driver}: {_first_line(exc)}; "
                               f"{INSTALL_HINT} (matching versions)") from None
        self._driver.set_page_load_timeout(timeout)

    def open(self, path: str) -> tuple[str, str]:
        return self._do(lambda: self._driver.get(self.base_url + path))

    def search(self, page: Page, keywords: str) -> tuple[str, str]:
        # Typed through the DOM: send_keys cannot type characters outside the Basic Multilingual Plane.
        return self._do(lambda: self._driver.execute_script(
            _MARK + "document.getElementById('search_input').value = arguments[0];"
            "return document.getElementById('search-button');", keywords).click())

    def click(self, page: Page, clickable: Clickable) -> tuple[str, str]:
        from selenium.common.exceptions import ElementNotInteractableException

        def press() -> None:
            element = self._driver.execute_script(
                _MARK + "return document.querySelectorAll(arguments[0])[arguments[1]];", CLICKABLE_SELECTOR,
                clickable.position)
            try:
                element.click()
            except ElementNotInteractableException:  # hidden or covered: press it as a script would
                self._driver.execute_script("arguments[0].click();", element)

        return self._do(press)

    def _do(self, gesture) -> tuple[str, str]:
        """Make ``gesture`` and wait for the page it leads to (the old page's mark gone, the new one loaded);
        the new page's HTML and URL. Few WebDriver commands: each is a round trip to chromedriver."""
        from selenium.common.exceptions import JavascriptException, TimeoutException, WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            gesture()
            wait = WebDriverWait(self._driver, self.timeout, poll_frequency=0.005,
                                 ignored_exceptions=(JavascriptException,))  # asked mid-navigation: ask again
            return wait.until(lambda driver: driver.execute_script(_LOADED))
        except TimeoutException:
            raise SiteError(f"the WebShop site at {self.base_url} did not answer the browser within "
                            f"{self.timeout:g} s; is its server stopped?") from None
        except WebDriverException as exc:
            raise BrowserError(f"the browser failed: {_first_line(exc)}") from None

    def close(self) -> None:
        from selenium.common.exceptions import WebDriverException

        try:
            self._driver.quit()
        except WebDriverException:  # a browser that died on its own: nothing left to quit
            pass
        finally:
            shutil.rmtree(self._profile, ignore_errors=True)


def _first_line(exc: BaseException) -> str:
    text = getattr(exc, "msg", None) or str(exc)
    return (text.strip().splitlines() or [type(exc).__name__])[0][:200]
