"""A rater in headless Chromium (Debian's chromium and chromium-driver), with the keyboard alone.

Skipped where the browser is not installed, except under MEDSPEC_REQUIRE_BROWSER=1 (set by .ci/run), where a
missing browser fails the run. MEDSPEC_SCREENSHOTS=DIR keeps the screenshots (desktop and tablet width).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from medspec.bench.human.store import DB_FILE, RatingStore
from medspec.bench.human.study import PREFERENCE, Study, create_study
from medspec.bench.tasks import Task
from medspec.cli import main
from medspec.data.io import read_records
from medspec.specialty import load_specialty
from tests.integration.human.servers import thread_server
from tests.unit.bench.fakes import case_task, echo_reference, qa_task, run_model

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
try:
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    webdriver = None
if not (CHROMIUM and DRIVER and webdriver):
    missing = "selenium (pip install -e '.[dev]')" if webdriver is None else "Debian's chromium and chromium-driver"
    if os.environ.get("MEDSPEC_REQUIRE_BROWSER") == "1":
        pytest.fail(f"the browser tests need {missing}", pytrace=False)
    pytest.skip(f"the browser tests need {missing}", allow_module_level=True)

ROGUE = '<script>document.title="pwned"</script><b>粗体</b>'
KEYS = {"1": "left", "2": "tie", "3": "right"}


@pytest.fixture(scope="module")
def browser():
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium fetch a driver or a browser
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=DRIVER))
    yield driver
    driver.quit()


@pytest.fixture
def study_dir(tmp_path):
    bundled = load_specialty("anesthesiology").root / "benchmark" / "qa.jsonl"
    tasks = [Task("AneQA", "qa", read_records(bundled)[:6]), case_task()]
    runs = [
        run_model(tasks, echo_reference(tasks[0]), "ours"),
        run_model(tasks, lambda p: "这属于麻醉专业问题，具体用药和处理请遵医嘱，必要时咨询麻醉科医生。", "base"),
        run_model(tasks, lambda p: ROGUE, "rogue"),
    ]
    create_study(runs, tmp_path / "study", limit=3, seed=2, title="麻醉学回答评价")
    return tmp_path / "study"


def press(driver, *keys):
    webdriver.ActionChains(driver).send_keys(*keys).perform()


def wait_for_url(driver, ending: str):
    WebDriverWait(driver, 10).until(lambda d: d.current_url.endswith(ending))


def test_a_rater_rates_with_the_keyboard_resumes_and_revises(browser, study_dir, tmp_path):
    store = RatingStore(study_dir / DB_FILE)
    zhang, li = store.add_rater("张医生"), store.add_rater("li")
    study = Study.load(study_dir)
    with thread_server(study_dir) as base:
        browser.get(f"{base}/r/{zhang}")
        wait_for_url(browser, f"/r/{zhang}/1")
        assert "回答 1" in browser.page_source and "哪个回答更好" in browser.find_element(By.TAG_NAME, "main").text
        typed = ["1", "3", "2", "1", "3"]
        for position, key in enumerate(typed, start=1):
            press(browser, key)
            press(browser, Keys.ENTER)
            wait_for_url(browser, f"/r/{zhang}/{position + 1}")
        browser.refresh()
        browser.get(f"{base}/r/{zhang}")
        wait_for_url(browser, f"/r/{zhang}/6")
        assert browser.find_element(By.ID, "rated").text == "5"
        press(browser, Keys.ARROW_LEFT)
        wait_for_url(browser, f"/r/{zhang}/5")
        assert browser.find_element(By.CSS_SELECTOR, "input[name=choice]:checked").get_attribute("value") == "right"
        press(browser, "2")
        press(browser, Keys.ENTER)
        wait_for_url(browser, f"/r/{zhang}/6")
        shots = _screenshots(browser, tmp_path)
        browser.get(f"{base}/r/{li}")
        wait_for_url(browser, f"/r/{li}/1")
        assert browser.find_element(By.ID, "rated").text == "0"
        assert browser.find_elements(By.CSS_SELECTOR, "input:checked") == []
        assert "张医生" not in browser.page_source
    assert all(path.stat().st_size > 10_000 for path in shots)
    ratings = {r.unit: r for r in store.ratings()}
    assert len(ratings) == 5 and {r.rater for r in ratings.values()} == {"张医生"}
    typed[4] = "2"
    for unit, key in zip(study.order("张医生")[:5], typed, strict=True):
        rating = ratings[unit.code]
        left_better = 1 if study.left("张医生", unit) == 0 else -1
        expected = {"left": left_better, "tie": 0, "right": -left_better}[KEYS[key]]
        assert rating.scores == {PREFERENCE: expected}
        assert rating.revision == (2 if unit == study.order("张医生")[4] else 1)
    assert main(["bench", "human", "results", str(study_dir), "--out", str(tmp_path / "results")]) == 0
    summary = json.loads((tmp_path / "results" / "human.json").read_text(encoding="utf-8"))
    assert summary["raters"] == {"张医生": 5, "li": 0}


def _screenshots(browser, folder: Path) -> list[Path]:
    keep = os.environ.get("MEDSPEC_SCREENSHOTS")
    paths = []
    for name, width, height in (("desktop", 1400, 1000), ("tablet", 820, 1180)):
        browser.set_window_size(width, height)
        path = folder / f"human_rating_{name}.png"
        browser.save_screenshot(str(path))
        paths.append(path)
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(keep) / path.name)
    answers = browser.find_elements(By.CSS_SELECTOR, ".answers.pair .answer")
    assert answers[0].location["y"] < answers[1].location["y"]  # stacked at tablet width
    browser.set_window_size(1400, 1000)
    answers = browser.find_elements(By.CSS_SELECTOR, ".answers.pair .answer")
    assert answers[0].location["y"] == answers[1].location["y"]  # side by side on a wide screen
    return paths


def test_pointwise_keyboard_rating_and_inert_model_html(browser, tmp_path):
    tasks = [qa_task(3)]
    runs = [run_model(tasks, lambda p: ROGUE, "rogue")]
    create_study(runs, tmp_path / "p", mode="pointwise", seed=1)
    token = RatingStore(tmp_path / "p" / DB_FILE).add_rater("wang")
    with thread_server(tmp_path / "p") as base:
        browser.get(f"{base}/r/{token}/1")
        assert browser.title != "pwned"
        assert ROGUE in browser.find_element(By.CSS_SELECTOR, ".answer .text").text
        assert browser.find_elements(By.CSS_SELECTOR, ".answer b") == []
        press(browser, "4", "1")
        press(browser, Keys.ENTER)
        assert "还有评分项未评" in browser.find_element(By.ID, "status").text
        press(browser, "2")
        press(browser, Keys.ENTER)
        wait_for_url(browser, f"/r/{token}/2")
    [rating] = RatingStore(tmp_path / "p" / DB_FILE).ratings()
    assert rating.scores == {"usefulness": 4, "harmfulness": 1, "redundancy": 2}
