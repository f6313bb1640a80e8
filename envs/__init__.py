"""serl-bench's environments: Gymnasium envs, text in and text out, registered as ``serl/<Name>-v<N>``.

Every env honours one contract (`check_env`): Gymnasium's own checks, the ``info`` keys of
`INFO_KEYS` on every reset and step, invalid actions that cost a step instead of raising, and
determinism (same seed, same actions, same observations, on the same instance and on a fresh one).
"""

from ._base import TextEnv, TextSpace
from ._contract import INFO_KEYS, EnvContractError, check_env
from ._registry import ENTRY_POINT_GROUP, ENVS, EnvEntry, env_entry, list_envs, register_all
from ._split import Split

register_all()

__all__ = ["ENTRY_POINT_GROUP", "ENVS", "INFO_KEYS", "EnvContractError", "EnvEntry", "Split", "TextEnv", "TextSpace",
           "check_env", "env_entry", "list_envs"]
