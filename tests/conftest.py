"""Shared fixtures. Tests never touch the user's cache: each session generates its games afresh."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest

SMALL = 2  # games per task type in test splits: 12 games, all six task types


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    previous = os.environ.get("SERL_BENCH_CACHE")
    os.environ["SERL_BENCH_CACHE"] = str(tmp_path_factory.mktemp("serl-bench-cache"))
    yield
    if previous is None:
        os.environ.pop("SERL_BENCH_CACHE", None)
    else:
        os.environ["SERL_BENCH_CACHE"] = previous


@pytest.fixture(scope="session")
def small_split(_isolated_cache):
    """procgen-test with two expert-verified games per task type."""
    from serl_bench.envs.alfworld._games import procgen_split

    return procgen_split("procgen-test", SMALL)


@pytest.fixture(scope="session")
def alfworld_env(small_split):
    """One ALFWorld env over the small split, shared by tests that only reset and step it."""
    import gymnasium as gym

    env = gym.make("serl/ALFWorld-v0", split="procgen-test", games_per_type=SMALL)
    yield env
    env.close()


@pytest.fixture(scope="session")
def groups(alfworld_env):
    """Real ALFWorld groups: mixed (successes and failures), all failing, one rollout, an invalid action."""
    from serl_bench import Agent, AgentStep
    from serl_bench.methods import build_method
    from serl_bench.rollouts import collect_group

    class InvalidFirst(Agent):
        """Says something the engine does not understand first, then follows the expert."""

        def reset(self, env, observation, info, *, seed):
            self.env, self.first = env.unwrapped, True

        def act(self, observation, info):
            if self.first:
                self.first = False
                return AgentStep("fly to the moon")
            return AgentStep(self.env.expert_action() or "look")

    noisy, rand, expert = (build_method(n)[0] for n in ("noisy-expert", "random", "expert"))
    env = alfworld_env
    return {
        "mixed": collect_group(env, [("noisy-expert", noisy), ("random", rand)], task_id=0, group_size=4, seed=1,
                               max_steps=30, expert=expert),
        "failing": collect_group(env, [("random", rand)], task_id=6, group_size=3, seed=5, max_steps=12,
                                 expert=expert),
        "single": collect_group(env, [("noisy-expert", noisy)], task_id=1, group_size=1, seed=2, max_steps=40),
        "invalid": collect_group(env, [("invalid-first", InvalidFirst()), ("random", rand)], task_id=3,
                                 group_size=2, seed=3, max_steps=30),
    }


def build_tiny_model(path, first_token: str = "a", constant: bool = True):
    """A one-layer Llama with a character tokenizer, built from a config (no download). Its final norm
    is zeroed, so every logit is equal and greedy decoding repeats token 0: ``first_token``, which may be
    a whole string such as ``<action>look</action>``. Real model, real tokenizer, predictable output."""
    import string

    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {first_token: 0}
    for c in string.printable:
        vocab.setdefault(c, len(vocab))
    for special in ("<pad>", "<s>", "</s>", "<unk>"):
        vocab[special] = len(vocab)
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Split("", behavior="isolated")
    tokenizer.decoder = decoders.Fuse()
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                   unk_token="<unk>")
    fast.chat_template = ("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
                          "{% if add_generation_prompt %}assistant: {% endif %}")
    fast.save_pretrained(path)
    config = LlamaConfig(vocab_size=len(vocab), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=32768,
                         bos_token_id=vocab["<s>"], eos_token_id=vocab["</s>"], pad_token_id=vocab["<pad>"])
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    if constant:
        with torch.no_grad():
            model.model.norm.weight.zero_()
    model.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A tiny model that always answers 'aaaa...'."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-a"))


@pytest.fixture(scope="session")
def looking_model(tmp_path_factory):
    """A tiny model whose every token is '<action>look</action>': a valid ALFWorld action, always."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-look"), first_token="<action>look</action>")


@pytest.fixture(scope="session")
def searching_model(tmp_path_factory):
    """A tiny model whose every token is '<action>search[red shoes]</action>': a valid WebShop search, always."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-search"), first_token="<action>search[red shoes]</action>")


@pytest.fixture(scope="session")
def random_model(tmp_path_factory):
    """A tiny model with random weights (it can learn)."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-random"), constant=False)


@pytest.fixture(scope="session")
def openai_server(tiny_model):
    """`transformers serve` on the tiny model: a real OpenAI-compatible server on 127.0.0.1."""
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(tiny_model / "serve.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from transformers.cli.transformers import main; sys.exit(main())",
         "serve", str(tiny_model), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"transformers serve did not come up: {(tiny_model / 'serve.log').read_text()[-2000:]}")
    yield {"base_url": f"{url}/v1", "model": str(tiny_model)}
    proc.terminate()
    proc.wait(timeout=30)

@pytest.fixture(scope="session")
def eval_runs(small_split, tmp_path_factory):
    """Run directories written by the real harness: expert, noisy expert and random on six tasks."""
    from serl_bench.harness import EvalConfig, evaluate

    root = tmp_path_factory.mktemp("runs")
    runs = {}
    for method in ("expert", "noisy-expert", "random"):
        config = EvalConfig(method=method, episodes=6, max_steps=50, env_args={"games_per_type": 2},
                            method_args={"epsilon": 0.4} if method == "noisy-expert" else {})
        runs[method] = evaluate(config, out=root / method, progress=False).path
    return runs


@pytest.fixture
def run_copy(eval_runs, tmp_path):
    """A private copy of a run directory, free to tamper with."""

    def copy(method: str = "noisy-expert"):
        return shutil.copytree(eval_runs[method], tmp_path / f"copy-{method}")

    return copy


def benchmarks_disabled(config) -> bool:
    """Whether pytest-benchmark is off in this run, as it decides (``--benchmark-enable`` overrides the
    ``--benchmark-disable`` of the project's addopts; the two are separate options)."""
    return config.getoption("benchmark_disable") and not config.getoption("benchmark_enable")


#: The loop settings serl-bench's trainer had before its defaults became the CPU WebShop main job's, for tests
#: that pin the trainer's mechanics on tiny models (ALFWorld, standard prompt, whole model, no extras).
CLASSIC_LOOP = dict(env="alfworld", prompt="standard", temperature=1.0, lr=1e-5, train_layers=0,
                    drop_zero_advantage=False, eval_before=False, checkpoint_every=0)


class LocalEndpoint:
    """A real HTTP endpoint on 127.0.0.1 that misbehaves on purpose, one thread per connection.

    ``behaviour``: ``"silent"`` (accepts, reads the request, never answers), ``"trickle"`` (a 200 with a long
    body, one byte every ``interval`` seconds) or ``(status, body)`` (that answer at once)."""

    def __init__(self, behaviour, interval: float = 0.2) -> None:
        import socket
        import threading

        self.behaviour, self.interval = behaviour, interval
        self.stop = threading.Event()
        self.requests: list[bytes] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/v1"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import threading

        while not self.stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn) -> None:
        with conn:
            conn.settimeout(5)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                while len(body) < length:
                    body += conn.recv(65536)
                self.requests.append(head.split(b"\r\n")[0])
                if self.behaviour == "silent":
                    self.stop.wait()
                elif self.behaviour == "trickle":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
                    while not self.stop.wait(self.interval):
                        conn.sendall(b" ")
                else:
                    status, payload = self.behaviour
                    payload = payload.encode() if isinstance(payload, str) else payload
                    conn.sendall(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: "
                                 f"{len(payload)}\r\nConnection: close\r\n\r\n".encode() + payload)
            except OSError:
                pass

    def close(self) -> None:
        self.stop.set()
        self._sock.close()


@pytest.fixture
def local_endpoint():
    """``local_endpoint(behaviour)``: a `LocalEndpoint` on 127.0.0.1, closed after the test."""
    made = []

    def make(behaviour, interval: float = 0.2):
        made.append(LocalEndpoint(behaviour, interval))
        return made[-1]

    yield make
    for endpoint in made:
        endpoint.close()


def run_in_process(*args) -> subprocess.CompletedProcess:
    """``serl-bench ARGS`` run in this process (no interpreter start-up, about 5 s saved a call): its exit
    status, stdout and stderr, as `subprocess.run` would give them."""
    import contextlib
    import io

    from serl_bench.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse refusing its arguments
            code = exc.code if isinstance(exc.code, int) else 2
    return subprocess.CompletedProcess([str(a) for a in args], code, out.getvalue(), err.getvalue())


def assert_one_line_error(result, *fragments):
    """A CLI run refused the way every bad input must be: exit 2, one line on stderr, no traceback."""
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


CHROME_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,900")


@pytest.fixture(scope="module")
def driver():
    """Headless Chromium through selenium, with a fresh profile (the brief's flags)."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    binary, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not binary or not chromedriver:
        pytest.fail("headless Chromium tests need Debian's chromium and chromium-driver: "
                    "apt-get install chromium chromium-driver")
    profile = tempfile.mkdtemp(prefix="board-chromium-")
    options = Options()
    options.binary_location = binary
    for arg in (*CHROME_ARGS, f"--user-data-dir={profile}"):
        options.add_argument(arg)
    d = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    yield d
    d.quit()
    shutil.rmtree(profile, ignore_errors=True)


def checkpoint_weights(run):
    """The tensors of a run's last checkpoint (or of a model folder given directly)."""
    from pathlib import Path

    from safetensors.torch import load_file

    run = Path(run)
    folder = run / "checkpoints" / "last" / "model" if (run / "checkpoints").is_dir() else run
    return load_file(folder / "model.safetensors")


def metrics_without_times(run):
    """A run's metric lines without their wall-clock figures (which no two runs share)."""
    import json
    from pathlib import Path

    return [{k: v for k, v in json.loads(line).items() if not k.startswith("time/")}
            for line in (Path(run) / "metrics.jsonl").read_text().splitlines()]


def play_random(envs, episodes, on_round=None):
    """The random policy's episodes on ``envs``; ``on_round(k)`` after each lockstep round (to kill a worker)."""
    from serl_bench.methods import build_method
    from serl_bench.rollouts import play_batch

    agents = [build_method("random")[0] for _ in envs]
    rounds = 0

    def on_steps(n):
        nonlocal rounds
        rounds += 1
        if on_round is not None:
            on_round(rounds)

    played = play_batch(envs, [agents[i % len(agents)] for i in range(len(episodes))], episodes, max_steps=15,
                        on_steps=on_steps)
    return [trials[-1] for trials in played]


def assert_same_episodes(a, b):
    assert [(t.task_id, t.seed, t.won, t.score, t.error) for t in a] == [(t.task_id, t.seed, t.won, t.score, t.error)
                                                                         for t in b]
    assert [[(s.observation, s.action, s.reward, s.feedback) for s in t.steps] for t in a] == \
        [[(s.observation, s.action, s.reward, s.feedback) for s in t.steps] for t in b]


@pytest.fixture(scope="module")
def webshop_episodes():
    """Six WebShop test episodes of the random policy, played in this process: what env workers must match."""
    from serl_bench.envs import env_entry
    from serl_bench.harness import eval_episodes
    from serl_bench.rollouts import make_envs

    local = make_envs(env_entry("webshop"), "test", 1, max_steps=15, progress=False)
    try:
        episodes = eval_episodes(local[0].unwrapped.task_ids, 6, 0)
        return episodes, play_random(local, episodes)
    finally:
        local[0].close()
