"""The trainer: one loop for GRPO, GiGPO, RLOO, PPO, SFT, RFT, on-policy distillation and SERL.

Methods differ only in their own settings and the hooks of `TrainingMethod` (``_method.py``); the
`Trainer` (``_trainer.py``) owns the policy, envs, feedback contexts and checkpoints, the `Learner`
(``_learner.py``) one update, and `train` (``_train.py``) the loop. ``serl-bench run`` is a thin layer over
`train`::

    from serl_bench.training import TrainConfig, train
    result = train(TrainConfig(method="serl", method_args={"lambda0": 0.3}, updates=3))
"""

from ._advantages import AdvantageNorm, EpisodeAdvantage, EpisodeReward, FormatCheck, normalize_rows
from ._config import PROFILES, Device, DType, Profile, RolloutBackend, TrainConfig
from ._method import Objective, TrainingMethod, episode_advantages, group_normalized
from ._train import TrainResult, evaluate_start, train

__all__ = ["PROFILES", "AdvantageNorm", "DType", "Device", "EpisodeAdvantage", "EpisodeReward", "FormatCheck",
           "Objective", "Profile", "RolloutBackend", "TrainConfig", "TrainResult", "TrainingMethod",
           "episode_advantages", "evaluate_start", "group_normalized", "normalize_rows", "train"]
