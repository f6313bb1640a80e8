"""Env worker processes: envs that live in other processes, stepped in batches by the rollout engine.

``--env-workers N`` (``eval``, ``feedback``, ``run``) starts N worker processes and spreads the envs of a
batch over them; each worker builds its envs from the same `EnvRecipe` the main process would have used. A
`RemoteEnv` is a Gymnasium env whose ``reset`` and ``step`` run in its worker, and which can also be started
(``reset_async``, ``step_async``) and finished (``wait``) apart, so that `serl_bench.rollouts.play_batch`
sends every env of a lockstep round its action before it waits for the first answer: N workers step N envs
at once. Episodes are the same as in-process ones (an episode depends only on its seed).

Faults cost nothing: a worker that dies, or answers nothing for ``timeout`` seconds, is killed and started
again, and every episode it was playing is replayed from its seed by the engine (`WorkerLost`); the episode
is logged once, with ``env_retries`` saying how often it was replayed.

Example::

    from serl_bench.envworkers import EnvRecipe, start_envs
    envs = start_envs(EnvRecipe("alfworld", "procgen-test", max_steps=50), count=8, workers=2)
    obs, info = envs[0].reset(seed=0)
    for env in envs:
        env.close()                                        # the workers stop with their last env
"""

from __future__ import annotations

import itertools
import os
import pickle
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import EnvSpec

from .errors import ConfigError

DEFAULT_TIMEOUT = 300.0  #: seconds a worker may take over one reset or step before it is called hung
START_TIMEOUT = 600.0  #: seconds a worker may take to build its envs (ALFWorld loads its games)


_WORKER_MAIN = ("import sys; from multiprocessing.connection import Connection; "
                "from serl_bench.envworkers import _serve; _serve(Connection(int(sys.argv[1])))")


class WorkerLost(Exception):
    """The worker holding an env died or hung; the env's state is gone and its episode must be replayed."""


@dataclass(frozen=True)
class EnvRecipe:
    """How a worker builds an env: the registered env (or ``module:attr``), its split, its episode length and
    arguments, exactly as `serl_bench.rollouts.make_env` takes them."""

    env: str
    split: str
    max_steps: int
    env_args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Meta:
    """What the main process keeps of a worker's env: enough for the harness and the agents."""

    spec_id: str | None
    max_episode_steps: int | None
    split: Any
    task_ids: list
    methods: frozenset[str]  #: public methods of the unwrapped env, called in the worker when asked for
    metadata: dict


def check_worker_settings(workers: Any, timeout: Any, ray_address: str | None) -> None:
    """``--env-workers``, ``--env-timeout`` and ``--ray-address`` in range, or a one-line `ConfigError` (every
    command that takes them checks them here, before anything is built)."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ConfigError(f"--env-workers must be at least 0 (a whole number), got {workers!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < float("inf"):
        raise ConfigError(f"--env-timeout must be a positive number of seconds, got {timeout!r}")
    if ray_address and not workers:
        raise ConfigError("--ray-address runs the env workers on Ray: give their number with --env-workers N")


def start_envs(recipe: EnvRecipe, count: int, workers: int, *, timeout: float = DEFAULT_TIMEOUT,
               ray_address: str | None = None) -> list[RemoteEnv]:
    """``count`` envs built from ``recipe`` in ``workers`` processes (env ``i`` in worker ``i % workers``), or
    in that many Ray actors on the cluster at ``ray_address`` (``local``: a Ray instance of this process's)."""
    check_worker_settings(workers, timeout, ray_address)
    if workers < 1 or count < 1:
        raise ConfigError(f"env workers: need at least one worker and one env, got {workers} workers, {count} envs")
    counts = [len(range(w, count, workers)) for w in range(min(workers, count))]
    pool = _RayPool(recipe, counts, timeout, ray_address) if ray_address else _Pool(recipe, counts, timeout)
    try:
        metas = pool.start_all()
    except BaseException:
        pool.shutdown()
        raise
    return [RemoteEnv(pool, i % pool.size, i // pool.size, metas[i % pool.size][i // pool.size]) for i in range(count)]


class RemoteEnv(gym.Env):
    """An env living in a worker process; see the module docstring."""

    def __init__(self, pool: _Pool, worker: int, index: int, meta: _Meta) -> None:
        self._pool, self._worker, self._index = pool, worker, index
        self.spec = EnvSpec(id=meta.spec_id, max_episode_steps=meta.max_episode_steps) if meta.spec_id else None
        self.metadata = meta.metadata
        self._unwrapped = _RemoteUnwrapped(self, meta)
        self._incarnation = -1  #: the worker incarnation the env's episode started in (-1: none yet)
        self._pending: list[int] = []
        self._closed = False
        pool.opened()

    @property
    def unwrapped(self) -> Any:
        return self._unwrapped

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]:
        self.reset_async(seed=seed, options=options)
        return self.wait()

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        self.step_async(action)
        return self.wait()

    def reset_async(self, *, seed: int | None = None, options: dict | None = None) -> None:
        self._incarnation = self._pool.incarnation(self._worker)
        self._send("reset", seed, options)

    def step_async(self, action: Any) -> None:
        self._send("step", action)

    def wait(self) -> Any:
        """The answer to the oldest reset, step or call sent and not yet waited for."""
        if not self._pending:
            raise RuntimeError("RemoteEnv.wait: nothing was sent")
        return self._pool.receive(self._worker, self._pending.pop(0))

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """``env.unwrapped.<name>(*args, **kwargs)``, run in the worker."""
        self._send("call", name, args, kwargs)
        return self.wait()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pool.closed()

    def _send(self, op: str, *args: Any) -> None:
        if op != "reset" and self._incarnation != self._pool.incarnation(self._worker):
            raise WorkerLost(f"env worker {self._worker} was restarted since this episode began")
        self._pending.append(self._pool.send(self._worker, (op, self._index, args)))


class _RemoteUnwrapped:
    """``RemoteEnv.unwrapped``: the split and task ids as the worker's env reported them, and its public methods
    (such as an expert's ``expert_action``) run in the worker."""

    def __init__(self, env: RemoteEnv, meta: _Meta) -> None:
        self._env, self.split, self.task_ids, self._methods = env, meta.split, meta.task_ids, meta.methods
        self.spec = env.spec

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self._methods:
            raise AttributeError(f"{name!r}: not available on an env that lives in a worker process")
        return lambda *args, **kwargs: self._env.call(name, *args, **kwargs)


class _Workers:
    """What both kinds of worker pool share: worker ``w`` holds ``counts[w]`` envs built from ``recipe``; its
    incarnation counts its restarts (an answer sent to an older one is lost); the pool stops when the last of
    its envs is closed."""

    def __init__(self, recipe: EnvRecipe, counts: list[int], timeout: float) -> None:
        self.recipe, self.counts, self.timeout, self.size = recipe, counts, timeout, len(counts)
        self._incarnations = [0] * self.size
        self._tickets = itertools.count()
        self._open = 0
        self.restarts = 0

    def incarnation(self, w: int) -> int:
        return self._incarnations[w]

    def opened(self) -> None:
        self._open += 1

    def closed(self) -> None:
        self._open -= 1
        if self._open <= 0:
            self.shutdown()

    def shutdown(self) -> None:
        raise NotImplementedError


class _Pool(_Workers):
    """The worker processes, their pipes and the answers that arrived before they were waited for."""

    def __init__(self, recipe: EnvRecipe, counts: list[int], timeout: float) -> None:
        super().__init__(recipe, counts, timeout)
        self._procs: list[Any] = [None] * self.size
        self._conns: list[Any] = [None] * self.size
        self._answers: list[dict[int, tuple]] = [{} for _ in range(self.size)]  #: arrived, not yet waited for
        self._inflight: list[dict[int, int]] = [{} for _ in range(self.size)]  #: ticket -> incarnation sent to

    def start_all(self) -> list[list[_Meta]]:
        for w in range(self.size):
            self._spawn(w)
        return [self._ready(w) for w in range(self.size)]

    def _spawn(self, w: int) -> None:
        """A fresh interpreter running `_serve` on the socket it inherits, never a fork of this process (which holds
        torch's threads) nor multiprocessing's spawn (which runs the caller's script again in the worker)."""
        parent, child = socket.socketpair()
        env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        try:
            proc = subprocess.Popen([sys.executable, "-c", _WORKER_MAIN, str(child.fileno())],
                                    pass_fds=[child.fileno()], env=env, stdin=subprocess.DEVNULL)
        finally:
            child.close()
        conn = Connection(os.dup(parent.fileno()))
        parent.close()
        conn.send((self.recipe, self.counts[w]))
        self._procs[w], self._conns[w] = proc, conn

    def _ready(self, w: int) -> list[_Meta]:
        kind, value = self._read(w, START_TIMEOUT, starting=True)
        if kind == "error":
            raise value
        return value

    def send(self, w: int, message: tuple) -> int:
        ticket = next(self._tickets)
        self._inflight[w][ticket] = self._incarnations[w]
        try:
            self._conns[w].send((ticket, message))
        except (OSError, EOFError):
            self._lost(w, "died")
        return ticket

    def receive(self, w: int, ticket: int) -> Any:
        answers = self._answers[w]
        sent_in = self._inflight[w].pop(ticket, None)
        while ticket not in answers:
            if sent_in != self._incarnations[w]:
                raise WorkerLost(f"env worker {w} was restarted before it answered")
            kind, (got, payload) = self._read(w, self.timeout)
            answers[got] = (kind, payload)
        kind, payload = answers.pop(ticket)
        if kind == "error":
            raise payload
        return payload

    def _read(self, w: int, timeout: float, *, starting: bool = False) -> tuple[str, Any]:
        conn, proc = self._conns[w], self._procs[w]
        waited = 0.0
        while True:
            try:
                if conn.poll(min(1.0, timeout - waited)):
                    return conn.recv()
            except (OSError, EOFError):
                pass
            else:
                if proc.poll() is None:
                    waited += 1.0
                    if waited < timeout:
                        continue
                    if starting:
                        raise ConfigError(f"an env worker took over {timeout:.0f} s to build its envs")
                    self._lost(w, f"answered nothing for {timeout:.0f} s")
            if starting:
                raise ConfigError(f"an env worker exited while building its envs (exit {proc.wait()}); run "
                                  "without --env-workers to see the env's own error")
            self._lost(w, f"died (exit {proc.wait()})")

    def _lost(self, w: int, how: str) -> None:
        """Kill worker ``w``, start it again, and raise `WorkerLost` for the episode that noticed."""
        proc = self._procs[w]
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        self._conns[w].close()
        self._answers[w].clear()
        self._inflight[w].clear()
        self._incarnations[w] += 1
        self.restarts += 1
        self._spawn(w)
        self._ready(w)
        raise WorkerLost(f"env worker {w} {how}")

    def shutdown(self) -> None:
        for w, proc in enumerate(self._procs):
            if proc is None:
                continue
            try:
                self._conns[w].send((-1, ("stop", 0, ())))
            except (OSError, EOFError):
                pass
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            self._conns[w].close()
            self._procs[w] = None


def _serve(conn: Any) -> None:
    """A worker's loop: build the envs it is sent a recipe for, then answer (ticket, (op, env index, args))
    messages in order, until it is told to stop or its connection closes (the main process is gone)."""
    try:
        envs = _build(*conn.recv())
        conn.send(("ok", [_meta(env) for env in envs]))
    except BaseException as exc:  # noqa: BLE001 - reported to the main process, which raises it
        conn.send(("error", _portable(exc)))
        return
    while True:
        try:
            ticket, (op, index, args) = conn.recv()
        except (EOFError, OSError):
            break
        if op == "stop":
            break
        kind, answer = _answer(envs, op, index, args)
        conn.send((kind, (ticket, answer)))
    for env in envs:
        env.close()


def _build(recipe: EnvRecipe, count: int) -> list[gym.Env]:
    from .envs import env_entry
    from .rollouts import make_env

    entry = env_entry(recipe.env)
    return [make_env(entry, recipe.split, max_steps=recipe.max_steps, env_args=recipe.env_args, progress=False)
            for _ in range(count)]


def _answer(envs: list[gym.Env], op: str, index: int, args: tuple) -> tuple[str, Any]:
    """A worker's answer to one message: ("ok", what the env returned) or ("error", the exception)."""
    try:
        env = envs[index]
        if op == "reset":
            return "ok", env.reset(seed=args[0], options=args[1])
        if op == "step":
            return "ok", env.step(args[0])
        name, call_args, kwargs = args
        return "ok", getattr(env.unwrapped, name)(*call_args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the episode fails in the main process, as it would in-process
        return "error", _portable(exc)


class _RayWorker:
    """A worker as a Ray actor (`_RayPool`): the same envs and answers as a worker process."""

    def __init__(self, recipe: EnvRecipe, count: int) -> None:
        self.envs = _build(recipe, count)

    def ready(self) -> tuple[list[_Meta], str]:
        import ray

        return [_meta(env) for env in self.envs], ray.get_runtime_context().get_node_id()

    def answer(self, op: str, index: int, args: tuple) -> tuple[str, Any]:
        return _answer(self.envs, op, index, args)


class _RayPool(_Workers):
    """Workers as Ray actors, spread over the cluster's nodes (``--ray-address``): the `_Pool` interface.
    An actor that dies (its node lost, ``ray.kill``) or answers nothing for ``timeout`` seconds is replaced
    and its episodes replayed, as a worker process is."""

    def __init__(self, recipe: EnvRecipe, counts: list[int], timeout: float, address: str) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError("--ray-address needs Ray: pip install 'serl-bench[ray]'") from None
        super().__init__(recipe, counts, timeout)
        if not ray.is_initialized():
            try:
                ray.init(address=None if address == "local" else address, log_to_driver=False,
                         include_dashboard=False, configure_logging=False)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise ConfigError(f"cannot join the Ray cluster at {address!r}: {' '.join(str(exc).split())[:200]}"
                                  f" (start one with `ray start --head`, or use --ray-address local)") from None
        env = {k: os.environ[k] for k in ("SERL_BENCH_CACHE", "OMP_NUM_THREADS") if k in os.environ}
        self._actor = ray.remote(num_cpus=0, max_restarts=0)(_RayWorker)
        self._runtime_env = {"env_vars": env} if env else None
        # worker w on the w-th alive node, round robin; Ray's own SPREAD is best effort and may put every
        # actor on one node
        self._nodes = sorted(n["NodeID"] for n in ray.nodes() if n.get("Alive"))
        self._actors: list[Any] = [None] * self.size
        self._refs: dict[int, tuple[int, Any]] = {}  #: ticket -> (incarnation sent to, object ref)
        self.nodes: list[str] = [""] * self.size  #: the node each worker runs on

    def start_all(self) -> list[list[_Meta]]:
        for w in range(self.size):
            self._actors[w] = self._start(w)
        return [self._ready(w) for w in range(self.size)]

    def _start(self, w: int, *, replacing: bool = False) -> Any:
        """Worker ``w``'s actor on its node: there and nowhere else at the start (a just-joined node may not take
        actors yet, and a soft choice would quietly put it elsewhere), anywhere when replacing a lost one."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        placement = NodeAffinitySchedulingStrategy(self._nodes[w % len(self._nodes)], soft=replacing) \
            if self._nodes else "SPREAD"
        return self._actor.options(scheduling_strategy=placement, runtime_env=self._runtime_env).remote(
            self.recipe, self.counts[w])

    def _ready(self, w: int) -> list[_Meta]:
        import ray

        try:
            metas, self.nodes[w] = ray.get(self._actors[w].ready.remote(), timeout=START_TIMEOUT)
        except ray.exceptions.RayTaskError as exc:
            raise exc.as_instanceof_cause() from None
        except ray.exceptions.GetTimeoutError:
            raise ConfigError(f"a Ray env worker took over {START_TIMEOUT:.0f} s to build its envs") from None
        return metas

    def send(self, w: int, message: tuple) -> int:
        ticket = next(self._tickets)
        op, index, args = message
        self._refs[ticket] = (self._incarnations[w], self._actors[w].answer.remote(op, index, args))
        return ticket

    def receive(self, w: int, ticket: int) -> Any:
        import ray

        sent_in, ref = self._refs.pop(ticket)
        if sent_in != self._incarnations[w]:
            raise WorkerLost(f"Ray env worker {w} was replaced before it answered")
        try:
            kind, payload = ray.get(ref, timeout=self.timeout)
        except ray.exceptions.GetTimeoutError:
            self._lost(w, f"answered nothing for {self.timeout:.0f} s")
        except (ray.exceptions.RayActorError, ray.exceptions.ActorDiedError, ray.exceptions.WorkerCrashedError):
            self._lost(w, "died")
        if kind == "error":
            raise payload
        return payload

    def _lost(self, w: int, how: str) -> None:
        import ray

        ray.kill(self._actors[w], no_restart=True)
        self._incarnations[w] += 1
        self.restarts += 1  # (the answers it still owed raise WorkerLost when waited for: older incarnation)
        self._actors[w] = self._start(w, replacing=True)
        self._ready(w)
        raise WorkerLost(f"Ray env worker {w} {how}")

    def shutdown(self) -> None:
        import ray

        for w, actor in enumerate(self._actors):
            if actor is not None:
                ray.kill(actor, no_restart=True)
                self._actors[w] = None


def _meta(env: gym.Env) -> _Meta:
    unwrapped = env.unwrapped
    kind = type(unwrapped)
    methods = frozenset(n for n in dir(kind) if not n.startswith("_") and callable(getattr(kind, n, None)))
    return _Meta(spec_id=env.spec.id if env.spec else None,
                 max_episode_steps=env.spec.max_episode_steps if env.spec else None, split=unwrapped.split,
                 task_ids=list(unwrapped.task_ids), methods=methods, metadata=dict(getattr(env, "metadata", {})))


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a RuntimeError with its type and message."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001
        return RuntimeError(f"{type(exc).__name__}: {exc}")

