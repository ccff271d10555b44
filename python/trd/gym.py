"""Gymnasium's own classes over trd.VecRecEnv, where gymnasium is importable.

    env = trd.gym.make_vec("dataset.h5", "knowledge_rl.h5", num_envs=64)

A thin adapter: the spaces are real gymnasium.spaces (a Dict observation
space, a MultiDiscrete action space) and the env a gymnasium.vector.VectorEnv
with SAME_STEP autoreset; stepping is trd.VecRecEnv's, views and all.
info["final_observation"] is trd's dict of [num_envs, ...] arrays, meaningful
where info["_final_observation"] is True; the same arrays are under
Gymnasium 1.x's names, info["final_obs"] and info["_final_obs"]. Debian 12 has
no gymnasium, so this adapter is not tested with trd's suite.
"""

import numpy as np

try:
    import gymnasium
    from gymnasium import spaces
except ImportError as missing:  # the core API (trd.VecRecEnv) works without it
    raise ImportError(
        "trd.gym needs gymnasium (pip install gymnasium); trd.VecRecEnv works without it"
    ) from missing

import trd


def _space(field):
    return spaces.Box(low=field["low"], high=field["high"], shape=field["shape"],
                      dtype=field["dtype"])


_AUTORESET = getattr(gymnasium.vector, "AutoresetMode", None)


class TrdVectorEnv(gymnasium.vector.VectorEnv):
    metadata = {"autoreset_mode": _AUTORESET.SAME_STEP if _AUTORESET else "SameStep"}

    def __init__(self, env):
        self.env = env
        self.num_envs = env.num_envs
        self.single_observation_space = spaces.Dict(
            {name: _space(field) for name, field in env.single_observation_space.items()})
        self.single_action_space = spaces.Discrete(env.single_action_space["n"])
        self.observation_space = gymnasium.vector.utils.batch_space(
            self.single_observation_space, self.num_envs)
        self.action_space = spaces.MultiDiscrete(
            np.full(self.num_envs, env.single_action_space["n"]))

    def reset(self, *, seed=None, options=None):
        return self.env.reset(seed=seed, options=options)

    def step(self, actions):
        obs, reward, terminated, truncated, info = self.env.step(
            np.asarray(actions))
        info["final_obs"], info["_final_obs"] = info["final_observation"], info["_final_observation"]
        return obs, reward, terminated, truncated, info


def make_vec(dataset, knowledge, split="rl", num_envs=64, **kwargs):
    """A gymnasium.vector.VectorEnv over trd.VecRecEnv(dataset, knowledge, ...)."""
    return TrdVectorEnv(trd.VecRecEnv(dataset, knowledge, split=split, num_envs=num_envs, **kwargs))
