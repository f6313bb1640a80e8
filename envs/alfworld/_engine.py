"""The real ALFWorld engine: textworld's ``PddlEnv`` on fast-downward, under alfworld's own wrappers.

The stack is the one ``alfworld.agents.environment.AlfredTWEnv`` builds — ``PddlEnv`` ->
``AlfredDemangler`` -> ``AlfredInfos`` -> ``AlfredExpert`` (handcoded) — with changes that leave every
observation and admissible command identical (tests compare against the stock stack):

* **Translation once per game.** Stock ``PddlEnv`` runs fast-downward's PDDL->SAS translation four times
  per load+reset (twice in each ``PddlState``, the second for a planner we never call). We translate once
  and reload the SAS text into the planner library on every reset.
* **Command texts memoized.** About 90 % of a stock step is the grammar re-deriving the text of every
  admissible command. A command template whose conditions read only *static* predicates (those no action
  changes, e.g. ``receptacleatlocation``) always derives to the same text for the same arguments, so it is
  derived once per game.
* **One grammar parse.** ALFWorld games differ from alfworld's grammar only in their task sentence, so
  they share one parse of it and each gets its own ``task`` rule.
* **Expert on demand.** The handcoded expert observes every step but only decides when asked
  (``expert_action``); it runs on its own random stream, so asking or not never changes the game.
  It also gets a one-line fix: alfworld 0.4's grammar says ``move X to Y`` where the expert still tracks
  ``put``, which made it lose track of its inventory (almost every ``pick_two_obj_and_place`` failed).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import random
import re
import sys
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable
from typing import Any

import fast_downward
import textworld
from alfworld.agents.environment.alfred_tw_env import AlfredDemangler, AlfredExpert, AlfredInfos
from alfworld.agents.expert import HandCodedTWAgent
from alfworld.agents.expert.handcoded_expert import HandCodedAgentFailed, HandCodedAgentTimeout
from textworld.envs import PddlEnv
from textworld.envs.pddl import logic as pddl_logic
from textworld.envs.pddl.textgen import ContextSensitiveGrammar
from textworld.logic import Proposition, Variable

from serl_bench.errors import GameFileError


class _LRU(OrderedDict):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def get_or_make(self, key: str, make: Callable[[], Any]) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = make()
        if len(self) > self.size:
            self.popitem(last=False)
        return value


_TRANSLATIONS = _LRU(64)  # sha256(domain + problem) -> (fast-downward task, SAS text)
_LOGICS = _LRU(64)  # sha256(domain + grammar) -> GameLogic


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()


def translate(domain: str, problem: str) -> tuple[Any, str]:
    """fast-downward's PDDL -> SAS translation, cached per process. Bad PDDL raises GameFileError."""

    def make():
        argv = sys.argv[:]  # fast-downward's translator overwrites sys.argv
        try:
            return fast_downward.pddl2sas(domain, problem)
        except (Exception, SystemExit) as exc:  # the translator exits on malformed input
            raise GameFileError(f"fast-downward cannot translate this PDDL problem ({exc!r})") from None
        finally:
            sys.argv[:] = argv

    return _TRANSLATIONS.get_or_make(_digest(domain, problem), make)


TASK_SENTENCE = re.compile(r'"rhs": "Your task is to: ((?:[^"\\]|\\.)*)"')  # the JSON string's content


def game_logic(domain: str, grammar: str) -> pddl_logic.GameLogic:
    """The parsed domain + grammar. Games that differ from alfworld's grammar only in their task
    sentence (every ALFWorld game) share one parse and get their own ``task`` rule."""

    def parse(text: str) -> pddl_logic.GameLogic:
        try:
            return pddl_logic.GameLogic(domain=domain, grammar=text)
        except Exception as exc:
            raise GameFileError(f"cannot parse the game's grammar ({exc!r})") from None

    def make():
        found = TASK_SENTENCE.search(grammar)
        template = grammar[: found.start(1)] + "UNKNOWN GOAL." + grammar[found.end(1):] if found else grammar
        if template == grammar:
            return parse(grammar)
        shared = _LOGICS.get_or_make(_digest(domain, template), lambda: parse(template))
        logic = copy.copy(shared)
        logic.grammar = ContextSensitiveGrammar()
        logic.grammar.update(shared.grammar)
        task = json.loads(f'"Your task is to: {found.group(1)}"')  # unescape the JSON string
        task_grammar = ContextSensitiveGrammar.parse(json.dumps({"task": [{"rhs": task}]}))
        logic.grammar._rules["task"] = task_grammar._rules["task"]
        return logic

    return _LOGICS.get_or_make(_digest(domain, grammar), make)


@functools.lru_cache(maxsize=4096)
def _names(text: str, name: str) -> bool:
    """Whether ``text`` mentions the variable ``name`` (few distinct templates and names per process)."""
    return re.search(rf"\b{re.escape(name)}\b", text) is not None


class _MemoGrammar:
    """textworld's grammar, remembering derivations that can only ever give one text.

    A start string without nonterminals (``#...#``) whose conditions read only static predicates depends
    on nothing but the action's arguments: that is every ALFWorld command template.
    """

    _PREDICATE = re.compile(r"([A-Za-z_][\w-]*)\(")

    def __init__(self, grammar: Any, static_predicates: frozenset[str]) -> None:
        self._grammar = grammar
        self._static = static_predicates
        self._memo: dict[tuple, str] = {}
        self._memoizable: dict[str, bool] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._grammar, name)

    def _is_memoizable(self, start: str) -> bool:
        ok = self._memoizable.get(start)
        if ok is None:
            predicates = {p.lower() for p in self._PREDICATE.findall(start)}
            ok = self._memoizable[start] = "#" not in start and predicates <= self._static
        return ok

    def derive(self, start: str, context: dict | None = None) -> str:
        context = context or {}
        if not self._is_memoizable(start):
            return self._grammar.derive(start, context)
        # Only the arguments the template names matter: "go to {r}" is the same text from any start location.
        key = (start, tuple(sorted((ph.name, var.name) for ph, var in context.get("mapping", {}).items()
                                   if _names(start, ph.name))))
        text = self._memo.get(key)
        if text is None:
            text = self._memo[key] = self._grammar.derive(start, context)
        return text


def _static_predicates(task: Any) -> frozenset[str]:
    changed = {effect.literal.predicate for action in task.actions for effect in action.effects}
    changed |= {axiom.name for axiom in task.axioms}  # derived predicates follow the state
    return frozenset(p.name for p in task.predicates if p.name not in changed)


class _PddlState(pddl_logic.PddlState):
    """A ``PddlState`` built from an already translated task (the stock one translates twice)."""

    def __init__(self, downward_lib: Any, logic: Any, problem: str, task: Any, sas: str) -> None:
        self._facts = defaultdict(set)
        self._vars_by_name = {}
        self._vars_by_type = defaultdict(set)
        self._var_counts = Counter()
        self._logic = logic
        self.downward_lib = downward_lib
        self.pddl_problem = problem
        self.task, self.sas = task, sas
        self._actions = {a.name: a for a in task.actions}
        for type_ in task.types:
            try:
                logic.types.add(textworld.logic.Type(type_.name, type_.supertype_names))
            except ValueError:  # already known
                pass
        downward_lib.load_sas(sas.encode("utf-8"))
        self.name2type = {o.name: o.type_name for o in task.objects}
        self.add_facts(filter(None, map(self._init_fact, task.init)))  # static facts are not in the SAS state
        state_size = downward_lib.get_state_size()
        atoms = (pddl_logic.Atom * state_size)()
        downward_lib.get_state(atoms)
        facts = (atom.get_fact(self.name2type) for atom in atoms)
        self.add_facts(fact for fact in facts if not fact.is_negation)

    def _init_fact(self, atom: Any) -> Proposition | None:
        """An initial-state atom as a fact, as the stock PddlState reads them (costs and distances dropped)."""
        if isinstance(atom, fast_downward.translate.pddl.conditions.Atom):
            name, args = atom.predicate, atom.args
        elif isinstance(atom, fast_downward.translate.pddl.f_expression.Assign):
            name, args = str(atom.expression.value), atom.fluent.args
            if atom.fluent.symbol == "total-cost" or name.isdigit():
                return None
        else:
            return None
        if name == "=":
            return None
        return Proposition(name, [Variable(arg, self.name2type[arg]) for arg in args])

    def replan(self, infos):  # the optimized planner task is never loaded
        raise NotImplementedError("planning is not available in serl-bench's ALFWorld engine")


class FastPddlEnv(PddlEnv):
    """``PddlEnv`` with one translation per game and memoized command texts (see module docstring)."""

    def load(self, filename_or_data: str | dict) -> None:
        if isinstance(filename_or_data, dict):
            data, self._game_file = filename_or_data, None
        else:
            data, self._game_file = read_game_file(filename_or_data), filename_or_data
        self._game_data = data
        self.walkthrough = data.get("walkthrough")
        self._task, self._sas = translate(data["pddl_domain"], data["pddl_problem"])
        # The parsed logic is shared between envs; each load gets its own memo of command texts.
        shared = game_logic(data["pddl_domain"], data["grammar"])
        self._logic = copy.copy(shared)
        self._logic.grammar = _MemoGrammar(shared.grammar, _static_predicates(self._task))
        try:
            self._pddl_state = self._new_state()
            self._entity_infos = self._get_entity_infos()
        except Exception as exc:  # e.g. a fact about an object the problem never declared
            where = self._game_file or "this game"
            raise GameFileError(f"cannot play {where}: its initial state is inconsistent ({exc!r})") from None

    def _new_state(self) -> _PddlState:
        data = self._game_data
        return _PddlState(self.downward_lib, self._logic, data["pddl_problem"], self._task, self._sas)

    def reset(self) -> textworld.GameState:
        self._pddl_state = self._new_state()
        self.prev_state = None
        self.state = textworld.GameState()
        self._last_action = None
        self._moves = 0
        context = {"state": self._pddl_state, "facts": list(self._pddl_state.facts), "variables": {},
                   "mapping": {}, "entity_infos": self._entity_infos}
        self.state.feedback = self.state.raw = self._logic.grammar.derive("#intro#", context)
        self._gather_infos()
        return self.state


class _ExpertTracksMove:
    """alfworld 0.4's grammar says ``move X to Y``; the policy's inventory tracking still looks for ``put``."""

    def update_state_tracking(self, game_state, last_action):
        if last_action.startswith("move "):
            last_action = "put " + last_action[len("move "):]
        return super().update_state_tracking(game_state, last_action)


class _HandCodedAgent(HandCodedTWAgent):
    def get_task_policy(self, task_param):
        policy = super().get_task_policy(task_param)
        return type(policy.__name__, (_ExpertTracksMove, policy), {})


class LazyAlfredExpert(AlfredExpert):
    """alfworld's handcoded ``AlfredExpert``, deciding only when asked and on its own random stream.

    The expert must see every step to track what it has found, so steps are queued and replayed in
    order at the next ``expert_action()`` call — the same calls the stock wrapper makes eagerly.
    """

    def __init__(self, env=None) -> None:
        super().__init__(env, expert_type="handcoded")
        self._pending: list[tuple[textworld.GameState, str]] = []
        self._rng_state: Any = None
        self._failed = False

    def load(self, gamefile: str) -> None:
        textworld.core.Wrapper.load(self, gamefile)
        self.gamefile = gamefile
        self._handcoded_expert = _HandCodedAgent(max_steps=200)

    def reset(self, seed: int = 0) -> textworld.GameState:
        self.state = textworld.core.Wrapper.reset(self)
        self._rng_state = random.Random(seed).getstate()
        self._failed = False
        self._pending = [(self.state, "")]
        self._decided: str | None = None
        self._expert_ready = False
        return self.state

    def _gather_infos(self) -> None:  # the stock wrapper decides here, on every step
        pass

    def step(self, command: str):
        self.state, reward, done = textworld.core.Wrapper.step(self, command)
        self._pending.append((self.state, str(command)))
        return self.state, reward, done

    def expert_action(self) -> str | None:
        """The handcoded expert's next command, or None where it has given up."""
        if self._failed:
            return None
        saved = random.getstate()
        random.setstate(self._rng_state)
        try:
            for state, command in self._pending:
                self._decided = self._decide(state, command)
        except (HandCodedAgentTimeout, HandCodedAgentFailed, Exception):
            self._failed, self._decided = True, None
        finally:
            self._pending = []
            self._rng_state = random.getstate()
            random.setstate(saved)
        return self._decided

    def _decide(self, state: textworld.GameState, command: str) -> str:
        # Sorted: the state keeps facts in a set, and the pick-two policy acts on the first object it finds
        # in the target receptacle, so set order (the process's string-hash seed) used to pick the episode.
        state["facts"] = sorted((self._readable_fact(f) for f in state["_facts"]),
                                key=lambda f: (f.name, [v.name for v in f.arguments]))
        if not self._expert_ready:  # the reset state: the expert reads the room's receptacles
            self._handcoded_expert.reset(self.gamefile)
            self._handcoded_expert.observe(state["feedback"])
            self._expert_ready = True
            return "look"
        action = self._handcoded_expert.act(state, 0, state["won"], command)
        return action if action in state["admissible_commands"] else "look"

    def _readable_fact(self, fact: Proposition) -> Proposition:
        infos = self.unwrapped._entity_infos
        return Proposition(fact.name, [Variable(infos[v.name].name or v.name, v.type) for v in fact.arguments])


def read_json(path: str | os.PathLike, what: str = "") -> dict:
    """A JSON object from ``path``; anything else raises GameFileError naming the file."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GameFileError(f"cannot read {what}{path}: {exc}") from None
    if not isinstance(data, dict):
        raise GameFileError(f"{what}{path} is not a JSON object")
    return data


def read_game_file(path: str) -> dict:
    """A ``game.tw-pddl`` file (JSON with the domain, grammar and problem). Raises GameFileError."""
    data = read_json(path, "game file ")
    missing = [k for k in ("pddl_domain", "grammar", "pddl_problem") if not isinstance(data.get(k), str)]
    if missing:
        raise GameFileError(f"game file {path} lacks {', '.join(missing)}")
    return data


def make_textworld_env() -> textworld.core.Wrapper:
    """The engine stack: PddlEnv -> AlfredDemangler -> AlfredInfos -> handcoded AlfredExpert."""
    infos = textworld.EnvInfos(won=True, admissible_commands=True, extras=["gamefile"])
    return LazyAlfredExpert(AlfredInfos(AlfredDemangler(FastPddlEnv(infos), shuffle=False)))

