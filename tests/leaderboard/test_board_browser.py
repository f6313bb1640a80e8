"""The static board in headless Chromium: every submission shows, sorting and filters work, a screenshot."""

import pytest

from serl_bench.leaderboard import render, submit, validate

pytestmark = pytest.mark.slow


def _column(d, index):
    from selenium.webdriver.common.by import By

    return [row.find_elements(By.TAG_NAME, "td")[index].text
            for row in d.find_elements(By.CSS_SELECTOR, "#measured tbody tr")]


def test_board_renders_sorts_and_filters(eval_runs, tmp_path, driver, record_property):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    for method in ("random", "expert", "noisy-expert"):
        submit(eval_runs[method], tmp_path)
    _, page = render(tmp_path)
    driver.get(page.as_uri())
    assert driver.title == "serl-bench leaderboard"
    assert sorted(_column(driver, 0)) == ["expert", "noisy-expert", "random"]
    tasks = validate(eval_runs["expert"]).split_fingerprint[:8]
    assert set(_column(driver, 4)) == {f"tasks {tasks}, 50 steps"}  # one panel: same tasks, same episode length
    assert driver.find_element(By.ID, "shown").text == "3 of 3 submissions shown"

    success = driver.find_element(By.CSS_SELECTOR, '#measured th[data-key="success"]')
    success.click()  # numbers sort high to low first
    assert [float(s.split()[0]) for s in _column(driver, 5)] == sorted(
        (float(s.split()[0]) for s in _column(driver, 5)), reverse=True)
    assert _column(driver, 0)[0] == "expert" and _column(driver, 0)[-1] == "random"
    success.click()
    assert _column(driver, 0)[0] == "random" and success.get_attribute("aria-sort") == "ascending"
    driver.find_element(By.CSS_SELECTOR, '#measured th[data-key="method"]').click()
    assert _column(driver, 0) == ["expert", "noisy-expert", "random"]

    method = Select(driver.find_element(By.ID, "f-method"))
    assert [o.text for o in method.options] == ["all", "expert", "noisy-expert", "random"]
    method.select_by_visible_text("random")
    assert _column(driver, 0) == ["random"]
    assert driver.find_element(By.ID, "shown").text == "1 of 3 submissions shown"
    Select(driver.find_element(By.ID, "f-env")).select_by_visible_text("alfworld")
    assert _column(driver, 0) == ["random"]
    Select(driver.find_element(By.ID, "f-feedback")).select_by_visible_text("none")
    Select(driver.find_element(By.ID, "f-method")).select_by_visible_text("all")
    assert len(_column(driver, 0)) == 3
    assert driver.find_element(By.ID, "empty").get_attribute("hidden") is not None

    reported = driver.find_elements(By.CSS_SELECTOR, "#reported tbody tr")
    assert reported == []  # this board has no reported.json; the repository's has (test_render)

    shot = tmp_path / "leaderboard.png"
    assert driver.save_screenshot(str(shot)) and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    record_property("screenshot", str(shot))
    print(f"screenshot: {shot}")
