"""The compact prompt style on real WebShop pages: the task once, visible clickables not listed again."""

from serl_bench.baselines.sft import ExpertInLLMFormat
from serl_bench.rollouts import play


class _NoModel:
    """ExpertInLLMFormat only needs a tokenizer-free backend here (the expert answers, nothing generates)."""

    tokenizer = None


def _prompts(env, style, history):
    class Expert(ExpertInLLMFormat):
        def act(self, observation, info):
            messages = self.messages(observation, info)
            action = self._env.expert_action()
            self._steps.append((observation, action))
            from serl_bench.methods import AgentStep

            return AgentStep(action=action, messages=tuple(messages))

    trajectory = play(env, Expert(_NoModel(), history=history, prompt=style), task_id=0, seed=0, max_steps=15)
    return trajectory, [s.messages[-1]["content"] for s in trajectory.steps]


def test_compact_prompts_state_the_task_once_and_hide_visible_clickables(text_env):
    trajectory, compact = _prompts(text_env, "compact", 2)
    _, standard = _prompts(text_env, "standard", 1)
    task = trajectory.task
    assert trajectory.won
    for prompt in compact:
        now = prompt.split("\nNow: ")[1]
        assert prompt.startswith(f"You shop on a website (WebShop).\nTask: {task}\n") and task not in now
        assert prompt.endswith("Reply with one action inside <action></action>.")
    results = compact[1]  # after the search: the results page
    listed = results.split("\nActions: ")[1]
    assert "click[b0" not in listed.lower() and "any button or item id shown" in listed
    assert len(results) < 0.8 * len(standard[1])
    assert "Done so far: search[" in results and " | " in results and "[SEP]" not in results
