"""Text and browser mode: the same actions give the same observations, infos and rewards.

The browser tests are marked slow (headless Chromium); CI runs them too. One browser serves the module.
"""

import os
import shutil

import pytest

from serl_bench.envs.webshop import _server
from serl_bench.envs.webshop._browser import BrowserError, find_chrome

HAVE_CHROME = bool(shutil.which("chromedriver")) and any(
    shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome"))


@pytest.fixture(scope="module")
def browser_env(make_webshop):
    if not HAVE_CHROME and not os.environ.get("CI"):  # in CI they must be there: the env's error then fails
        pytest.skip("Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    env = make_webshop(mode="browser")
    yield env
    env.close()


def scripted_actions(env, task_id):
    """A fixed tour of the site for ``task_id``, decided on the text env: invalid actions, an escaped search,
    pagination, an item with its options and tabs, back and forth, then the expert's purchase."""
    actions = ["click[xl]", "search[<script>alert(1)</script>]", "click[back to search]", "search[<query>]",
               "click[next >]", "click[< prev]"]
    env.reset(seed=0, options={"task_id": task_id})
    info = {}
    for action in actions:
        info = env.step(action)[4]
    first_hit = next(a for a in info["admissible_actions"] if a.startswith("click[b0"))
    info = env.step(first_hit)[4]
    options = [a for a in info["admissible_actions"] if a not in (
        "click[back to search]", "click[< prev]", "click[description]", "click[features]", "click[reviews]",
        "click[buy now]")]
    tour = [first_hit, *options[:2], "click[description]", "click[< prev]", "click[reviews]", "click[< prev]",
            "click[features]", "click[back to search]"]
    for action in tour[1:]:
        env.step(action)
    actions += tour
    while (action := env.unwrapped.expert_action()) is not None:
        actions.append(action)
        env.step(action)
    return actions


def play(env, task_id, actions):
    trace = [env.reset(seed=0, options={"task_id": task_id})]
    trace += [env.step(action) for action in actions]
    return trace


@pytest.mark.slow
@pytest.mark.parametrize("task_id", [0, 3])
def test_text_and_browser_see_the_same_pages(text_env, browser_env, task_id):
    actions = scripted_actions(text_env, task_id)
    text, browser = play(text_env, task_id, actions), play(browser_env, task_id, actions)
    assert len(actions) > 15 and text[-1][2] is True and text[-1][1] > 0  # it bought something
    for step, (a, b) in enumerate(zip(text, browser, strict=True)):
        assert a == b, f"step {step} ({(['reset'] + actions)[step]}) differs"


@pytest.mark.slow
def test_browser_mode_honours_the_contract(browser_env):
    from serl_bench.envs import check_env

    check_env(browser_env, seed=0, steps=6)


@pytest.mark.slow
def test_browser_and_text_envs_share_the_server(text_env, browser_env):
    text_env.reset(seed=0)
    browser_env.reset(seed=0)
    assert text_env.unwrapped.site_url == browser_env.unwrapped.site_url


def test_a_missing_chromedriver_is_a_one_line_error(tmp_path):
    with pytest.raises(BrowserError, match="not found: chromedriver") as caught:
        find_chrome(chromedriver=str(tmp_path / "chromedriver"))
    message = str(caught.value)
    assert "\n" not in message and "apt-get install chromium chromium-driver" in message
    with pytest.raises(BrowserError, match=r"not found: Chromium \(/nowhere/chromium\); chromedriver"):
        find_chrome(chromium="/nowhere/chromium", chromedriver="/nowhere/chromedriver")


def test_browser_mode_without_chromedriver_fails_in_one_line_and_frees_the_server(make_webshop, own_server,
                                                                                 tmp_path):
    env = make_webshop(mode="browser", catalog=own_server, chromedriver=str(tmp_path / "missing"))
    with pytest.raises(BrowserError, match="apt-get install chromium chromium-driver"):
        env.reset(seed=0)
    assert not any(s.catalog is own_server for s in _server.running_servers())
    env.close()
