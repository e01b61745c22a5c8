"""The built book in headless Chromium: every page of the table of contents opens with its images, math
and links intact and no unresolved glue. (The book's build itself: tests/test_sphinx.py.)"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from fer_helpers import config
from test_sphinx import built_book, toc_pages  # noqa: F401 (built_book: the fixture of the built book)

ROOT = config.ROOT
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


# --- headless Chromium -----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip(f"headless Chromium not installed ({CHROMIUM}, {CHROMEDRIVER}): "
                    "apt-get install chromium chromium-driver (.ci/run does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,1600",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(20)
    yield driver
    driver.quit()


WAIT_FOR_PAGE = """
const done = arguments[arguments.length - 1];
const images = Array.from(document.images).map(img => img.complete ? null :
    new Promise(ok => { img.addEventListener('load', ok); img.addEventListener('error', ok); }));
const math = (window.MathJax && MathJax.startup && MathJax.startup.promise) || null;
Promise.all(images.concat([math])).then(() => done(true), () => done(false));
"""

PAGE_REPORT = """
return {
  title: document.title,
  state: document.readyState,
  main: (document.querySelector('article.bd-article') || document.body).innerText.length,
  broken: Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
  math: document.querySelectorAll('article span.math, article div.math').length,
  typeset: document.querySelectorAll('article mjx-container').length,
  matherrors: document.querySelectorAll('article mjx-merror').length,
  rawglue: /\\{glue(:\\w+)?\\}`/.test(document.body.innerText),
};
"""


# pydata-sphinx-theme logs this on a browser's first visit (no stored light/dark choice yet)
BENIGN_CONSOLE_ERRORS = r"Got invalid theme mode: \. Resetting to auto"


@pytest.mark.slow
def test_pages_in_chromium(built_book, browser):  # noqa: F811 (the imported fixture)
    """Open every page of the table of contents: it loads, its images load, its math is typeset,
    the console shows no errors; a screenshot of each goes to _build/screenshots/."""
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    problems = []
    for page in toc_pages(built_book.parents[1]):
        browser.get((built_book / f"{page}.html").as_uri())
        browser.execute_async_script(WAIT_FOR_PAGE)
        report = browser.execute_script(PAGE_REPORT)
        browser.save_screenshot(str(SCREENSHOTS / f"{page.replace('/', '__')}.png"))
        errors = [entry["message"] for entry in browser.get_log("browser")
                  if entry["level"] == "SEVERE" and not re.search(BENIGN_CONSOLE_ERRORS, entry["message"])]
        if report["state"] != "complete" or not report["title"] or report["main"] < 20:
            problems.append(f"{page}: did not load ({report})")
        if report["broken"]:
            problems.append(f"{page}: images that did not load: {report['broken']}")
        if report["typeset"] < report["math"] or report["matherrors"]:
            problems.append(f"{page}: math not typeset ({report['typeset']} of {report['math']}, "
                            f"{report['matherrors']} errors)")
        if report["rawglue"]:
            problems.append(f"{page}: an unresolved glue role is shown")
        if errors:
            problems.append(f"{page}: console errors: {errors}")
    assert not problems, "\n".join(problems)
    assert len(list(SCREENSHOTS.glob("*.png"))) == len(toc_pages(built_book.parents[1]))

# --- CI and the GPU workflow ------------------------------------------------------------------------

def test_ci_installs_the_browser_and_runs_make_test():
    script = (ROOT / ".ci" / "run").read_text()
    assert "chromium-driver" in script and "graphviz" in script and "make test" in script
