"""``serl/WebShop-v0`` in text mode: the contract, actions and feedback, episodes, anchors, the shared server."""

import socket
import threading

import pytest

from serl_bench.envs import INFO_KEYS, check_env
from serl_bench.envs._contract import MALFORMED_ACTIONS
from serl_bench.envs.webshop import _server
from serl_bench.envs.webshop._actions import SEARCH_MARKER
from serl_bench.envs.webshop._browser import HttpBrowser
from serl_bench.envs.webshop._server import SiteError
from serl_bench.errors import ConfigError, UnknownNameError


def item_page(env, task_id=0):
    """Reset, search for the goal's product and open the first hit: the (obs, info) of its item page."""
    env.reset(seed=0, options={"task_id": task_id})
    _, _, _, _, info = env.step(f"search[{env.unwrapped.split.tasks[task_id].goal.name}]")
    link = next(a for a in info["admissible_actions"] if a.startswith("click[b0"))
    return env.step(link)[0::4]


def test_the_env_honours_the_contract(text_env):
    check_env(text_env, seed=0)
    check_env(text_env, seed=5)


def test_reset_shows_the_search_page_with_the_task(text_env):
    obs, info = text_env.reset(seed=0, options={"task_id": 2})
    task = text_env.unwrapped.split.tasks[2]
    assert set(INFO_KEYS) <= set(info)
    assert obs == f"WebShop [SEP] Instruction: [SEP] {task.goal.instruction_text} [SEP] Search"
    assert info["task"] == task.goal.instruction_text and info["task_type"] == task.goal.category
    assert info["task_id"] == task.task_id == f"goal-{task.goal.index}" and info["split"] == "test"
    assert info["feedback"] is None and info["won"] is False and info["score"] == 0.0
    assert info["admissible_actions"] == [SEARCH_MARKER] and info["anchor"] == "WebShop [SEP] Search"


def test_task_ids_and_indices_select_goals(text_env):
    env = text_env.unwrapped
    assert env.task_ids == [t.task_id for t in env.split.tasks] and len(env.task_ids) > 5
    assert env.split.source == "generated"
    assert text_env.reset(options={"task_id": env.task_ids[4]})[1]["task_id"] == env.task_ids[4]
    assert text_env.reset(options={"task_id": 4})[1]["task_id"] == env.task_ids[4]
    assert {text_env.reset(seed=7)[1]["task_id"] for _ in range(2)} == {text_env.reset(seed=7)[1]["task_id"]}
    with pytest.raises(ConfigError, match="no task_id 'nope' in split test; use an index"):
        text_env.reset(options={"task_id": "nope"})


def test_splits_hold_different_goals(make_webshop):
    ids = {split: set(make_webshop(split=split).unwrapped.task_ids)
           for split in ("test", "eval", "train")}
    assert all(ids.values()) and not (ids["test"] & ids["eval"] or ids["test"] & ids["train"])


@pytest.mark.parametrize("action", MALFORMED_ACTIONS, ids=lambda a: repr(a)[:20])
def test_malformed_actions_cost_a_step_and_say_why(text_env, action):
    obs, info = text_env.reset(seed=0, options={"task_id": 0})
    next_obs, reward, terminated, truncated, next_info = text_env.step(action)
    assert next_obs == obs and reward == 0.0 and not terminated and not truncated
    assert next_info["feedback"].startswith("Invalid action: ") and "\n" not in next_info["feedback"]
    assert len(next_info["feedback"]) < 200 and next_info["anchor"] == info["anchor"]
    assert text_env.unwrapped._steps == 1


@pytest.mark.parametrize("action, feedback", [
    ("click[xl]", 'Invalid action: no button "xl" on this page.'),
    ("click[Buy Now]", 'Invalid action: no button "buy now" on this page.'),
    ("click[]", "Invalid action: click needs a button, e.g. click[buy now]."),
    ("search[   ]", "Invalid action: search needs keywords, e.g. search[red shoes]."),
    ("search[shoes", 'Invalid action: "search[shoes" is not search[keywords] or click[button].'),
    ("buy[it]", 'Invalid action: unknown action "buy"; use search[keywords] or click[button].'),
    ("click[search]", "Invalid action: to search, write search[keywords]."),
    ("search[" + "word " * 300 + "]", "Invalid action: search keywords are limited to 1000 characters, got 1499."),
    ("search[\ud800\x00\u200b]", "Invalid action: search needs keywords, e.g. search[red shoes]."),
    (None, "Invalid action: expected text such as search[keywords] or click[button], got NoneType."),
])
def test_invalid_actions_on_the_search_page(text_env, action, feedback):
    text_env.reset(seed=0, options={"task_id": 0})
    assert text_env.step(action)[4]["feedback"] == feedback


def test_invalid_actions_on_an_item_page(text_env):
    obs, info = item_page(text_env)
    for action, feedback in [("click[xl]", 'Invalid action: no button "xl" on this page.'),
                             ("search[shoes]", "Invalid action: no search box on this page; click[back to search] "
                                               "first.")]:
        next_obs, reward, terminated, truncated, next_info = text_env.step(action)
        assert next_info["feedback"] == feedback and next_obs == obs and next_info["anchor"] == info["anchor"]


def test_odd_characters_in_keywords_are_searched_as_spaces(text_env):
    text_env.reset(seed=0, options={"task_id": 0})
    obs, _, _, _, info = text_env.step("search[tea\ud800bags\nhibiscus\x1b]")
    assert info["feedback"].startswith('Searched for "tea bags hibiscus": ') and "Page 1" in obs


def test_actions_are_case_insensitive_and_spaced_freely(text_env):
    obs, info = item_page(text_env)
    assert "Description" in obs and "click[description]" in info["admissible_actions"]
    obs, _, _, _, info = text_env.step("  CLICK [ Description ]  ")
    assert info["feedback"] == "You have clicked description." and "< Prev" in obs
    assert text_env.step("click[< PREV]")[0] == item_page(text_env)[0]


def test_admissible_actions_are_the_pages_clickables(text_env):
    text_env.reset(seed=0, options={"task_id": 1})
    obs, _, _, _, info = text_env.step(SEARCH_MARKER)
    assert "Page 1 (Total results: 50)" in obs
    assert info["admissible_actions"][:2] == ["click[back to search]", "click[next >]"]
    links = [a for a in info["admissible_actions"] if a.startswith("click[b0")]
    assert len(links) == 10 == len(info["admissible_actions"]) - 2 and all(a[6:-1].upper() in obs for a in links)
    for action in info["admissible_actions"]:  # every one of them works
        text_env.reset(seed=0, options={"task_id": 1})
        text_env.step(SEARCH_MARKER)
        assert not text_env.step(action)[4]["feedback"].startswith("Invalid")
    obs, info = item_page(text_env, 1)
    assert info["admissible_actions"][:2] == ["click[back to search]", "click[< prev]"]
    assert info["admissible_actions"][-4:] == ["click[description]", "click[features]", "click[reviews]",
                                               "click[buy now]"]


def test_the_search_marker_played_as_written_searches_the_instruction(text_env):
    _, info = text_env.reset(seed=0, options={"task_id": 3})
    obs, _, _, _, after = text_env.step(SEARCH_MARKER)
    assert after["feedback"].startswith(f'Searched for "{info["task"][:40]}') and "Page 1 (Total results:" in obs


def test_buying_ends_the_episode_with_the_reward(text_env):
    env = text_env.unwrapped
    text_env.reset(seed=0, options={"task_id": 0})
    rewards, info = [], {}
    while (action := env.expert_action()) is not None:
        obs, reward, terminated, truncated, info = text_env.step(action)
        rewards.append(reward)
    assert terminated and not truncated and info["won"] and info["score"] == 1.0 == rewards[-1] == sum(rewards)
    assert info["feedback"].startswith("You bought ") and info["feedback"].endswith("reward 1.000.")
    assert obs.startswith("Thank you for shopping with us!") and info["admissible_actions"] == []
    obs2, reward, terminated, truncated, info = text_env.step("click[buy now]")
    assert obs2 == obs and reward == 0.0 and terminated and info["feedback"].startswith("The episode is over")


def test_a_purchase_without_the_options_scores_without_winning(text_env):
    task_id, task = next((i, t) for i, t in enumerate(text_env.unwrapped.split.tasks) if t.goal.goal_options)
    text_env.reset(seed=0, options={"task_id": task_id})
    text_env.step(f"search[{task.goal.name}]")
    assert text_env.step(f"click[{task.goal.asin}]")[4]["feedback"] == f"You have clicked {task.goal.asin.lower()}."
    _, reward, terminated, _, info = text_env.step("click[buy now]")
    assert terminated and 0.0 < reward == info["score"] < 1.0 and info["won"] is False


def test_max_steps_truncates(make_webshop):
    env = make_webshop(max_episode_steps=3)
    env.reset(seed=0, options={"task_id": 0})
    flags = [env.step("search[shoes]")[2:4], env.step("click[next >]")[2:4], env.step("click[xl]")[2:4]]
    assert flags == [(False, False), (False, False), (False, True)]
    env.close()


def test_anchors_ignore_history_and_the_instruction(text_env):
    env = text_env.unwrapped
    task = env.split.tasks[0]
    direct_obs, direct = item_page(text_env, 0)
    text_env.reset(seed=1, options={"task_id": 0})
    for action in ("search[something else]", "click[back to search]", "click[xl]", f"search[{task.goal.name}]"):
        text_env.step(action)
    link = next(a for a in env._info(None)["admissible_actions"] if a.startswith("click[b0"))
    text_env.step(link)
    text_env.step("click[features]")
    roundabout_obs, _, _, _, roundabout = text_env.step("click[< prev]")
    assert roundabout_obs == direct_obs and roundabout["anchor"] == direct["anchor"]
    assert task.goal.instruction_text not in direct["anchor"] and "Instruction:" not in direct["anchor"]
    other = env.split.tasks[1]
    text_env.reset(seed=0, options={"task_id": 1})
    assert text_env.step(f"search[{task.goal.name}]")[4]["anchor"] != direct["anchor"]
    assert other.goal.instruction_text not in text_env.step(link)[4]["anchor"]


def test_unknown_mode_split_or_steps_are_one_line_errors(make_webshop):
    with pytest.raises(UnknownNameError, match="unknown WebShop mode 'gui'; valid: browser, text"):
        make_webshop(mode="gui")
    with pytest.raises(UnknownNameError, match="unknown WebShop split 'dev'; valid: eval, test, train"):
        make_webshop(split="dev")
    with pytest.raises(ConfigError, match="timeout must be a positive number of seconds"):
        make_webshop(timeout=0)


def test_two_envs_share_one_server_and_keep_their_own_sessions(make_webshop, own_server):
    first, second = make_webshop(catalog=own_server), make_webshop(catalog=own_server)
    before = len(_server.running_servers())
    obs1, _ = first.reset(seed=0, options={"task_id": 0})
    obs2, _ = second.reset(seed=0, options={"task_id": 1})
    server = first.unwrapped._server
    assert second.unwrapped._server is server and server.refs == 2 and len(_server.running_servers()) == before + 1
    first.step("search[shoes]")
    assert second.step("click[xl]")[0] == obs2  # the other env's search did not move this one
    first.close()
    assert server.running and second.step("search[shoes]")[4]["feedback"].startswith("Searched")
    second.close()
    assert not server.running and len(_server.running_servers()) == before
    first.close()  # closing twice is harmless


def test_envs_in_threads_share_the_server_safely(make_webshop):
    envs = [make_webshop() for _ in range(4)]
    scores, errors = {}, []

    def play(i):
        try:
            env = envs[i]
            env.reset(seed=i, options={"task_id": i})
            while (action := env.unwrapped.expert_action()) is not None:
                info = env.step(action)[4]
            scores[i] = info["score"]
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=play, args=(i,)) for i in range(len(envs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for env in envs:
        env.close()
    assert not errors and len(scores) == len(envs) and min(scores.values()) > 0.0


def test_a_taken_port_is_a_one_line_error_naming_it(make_webshop):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        env = make_webshop(port=port)
        with pytest.raises(ConfigError, match=f"cannot serve the WebShop site on 127.0.0.1:{port}") as caught:
            env.reset(seed=0)
    assert "\n" not in str(caught.value)
    env.close()


def test_a_dead_server_is_a_one_line_error(make_webshop, own_server):
    env = make_webshop(catalog=own_server)
    env.reset(seed=0, options={"task_id": 0})
    env.unwrapped._server.stop()
    with pytest.raises(SiteError, match="is not answering") as caught:
        env.step("search[shoes]")
    assert "\n" not in str(caught.value)
    env.close()
    env = make_webshop(catalog=own_server)  # a fresh env gets a fresh server
    assert env.reset(seed=0)[0].startswith("WebShop")
    env.close()


def test_a_site_that_does_not_answer_times_out_in_one_line():
    with socket.socket() as silent:  # accepts connections (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        with pytest.raises(SiteError, match=r"did not answer GET /x within 0.2 s") as caught:
            HttpBrowser(f"http://127.0.0.1:{port}", 0.2).open("/x")
    assert "\n" not in str(caught.value)


def test_render_returns_the_page(text_env):
    obs, _ = text_env.reset(seed=0, options={"task_id": 0})
    assert text_env.unwrapped.render() == obs


def test_a_port_in_use_stops_an_eval_with_one_line_and_keeps_nothing_half_done(tmp_path):
    """Bad input is not an episode failure: before the fix, eval recorded it as an errored episode and exited 0."""
    import socket
    import subprocess
    import sys

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "serl_bench", "eval", "--method", "random", "--env", "webshop",
                               "--env-arg", f"port={port}", "--episodes", "2", "--no-progress",
                               "--out", str(tmp_path / "run")], capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and f"127.0.0.1:{port}" in done.stderr
    log = tmp_path / "run" / "episodes.jsonl"
    assert not log.exists() or log.read_text() == ""  # no errored episode recorded as if the method failed
