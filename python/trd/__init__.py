"""trd: Top-aware Recommender Distillation, from Python.

The C++ environment and file formats of the `trd` command-line tool:

    import trd
    dataset = trd.read_dataset("runs/latest/dataset.h5")
    knowledge = trd.read_knowledge("runs/latest/knowledge_rl.h5")
    env = trd.VecRecEnv(dataset, knowledge, split="rl", num_envs=64)
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(actions)

Environments follow Gymnasium's conventions (reset(seed, options) ->
(obs, info); step -> (obs, reward, terminated, truncated, info); SAME_STEP
autoreset). Observations are dicts of numpy arrays that are views of the C++
env's own buffers, not copies: they are overwritten in place by the next
step() or reset() of that env (copy what you keep, e.g. np.copy), and stay
valid memory as long as the env lives. Bad input raises trd.InputError, a
ValueError carrying the C++ readers' one-line message.
"""

import os

import numpy as np

from ._trd import (  # noqa: F401  (re-exported)
    Dataset,
    InputError,
    Knowledge,
    read_dataset,
    read_knowledge,
    write_dataset,
)
from . import _trd

__all__ = [
    "Dataset",
    "InputError",
    "Knowledge",
    "read_dataset",
    "read_knowledge",
    "write_dataset",
    "write_knowledge",
    "RecEnv",
    "VecRecEnv",
    "FeatureView",
    "feature_view",
    "evaluate",
]

# EnvSettings' defaults (env/rec_env.hpp, DESIGN.md's environment).
_ENV_DEFAULTS = dict(
    n_actions=20,
    history_length=5,
    episode_length=10,
    reward="dcg",
    feedback="hits",
    features="default",
)


def _dataset(dataset):
    if isinstance(dataset, Dataset):
        return dataset
    if isinstance(dataset, (str, os.PathLike)):
        return read_dataset(os.fspath(dataset))
    raise TypeError("dataset: expected a path or a trd.Dataset, got %s" % type(dataset).__name__)


def _knowledge(knowledge):
    if isinstance(knowledge, Knowledge):
        return knowledge
    if isinstance(knowledge, (str, os.PathLike)):
        return read_knowledge(os.fspath(knowledge))
    raise TypeError(
        "knowledge: expected a path or a trd.Knowledge, got %s" % type(knowledge).__name__
    )


def _env_settings(env_settings):
    unknown = set(env_settings) - set(_ENV_DEFAULTS)
    if unknown:
        raise TypeError(
            "unknown env setting(s) %s (expected %s)"
            % (", ".join(sorted(unknown)), ", ".join(_ENV_DEFAULTS))
        )
    return _trd.env_settings(**{**_ENV_DEFAULTS, **env_settings})


def write_knowledge(path, knowledge=None, **arrays):
    """Writes a trd.Knowledge, or one built from keyword arrays (those of
    trd.Knowledge: teacher, stage, ranking_items, ranking_scores, dataset,
    user_embeddings, ...), to `path` atomically, with the C++ reader's checks
    first: a file trd would refuse is never written."""
    if knowledge is None:
        if "dataset" in arrays and arrays["dataset"] is not None:
            arrays["dataset"] = _dataset(arrays["dataset"])
        knowledge = Knowledge(**arrays)
    elif arrays:
        raise TypeError("write_knowledge: give a trd.Knowledge or keyword arrays, not both")
    _trd.write_knowledge(os.fspath(path), knowledge)


class FeatureView:
    """The embeddings behind ids, as views of the env's tables (no copy).
    Tables are empty (n x 0) when the teacher exported no embeddings."""

    def __init__(self, tables, n_users, n_items):
        self._tables = tables
        self.user_embeddings = tables.user_embeddings  # [n_users, dim]
        self.item_embeddings = tables.item_embeddings  # [n_items, dim]
        self._n_users, self._n_items = n_users, n_items

    @property
    def dim(self):
        return self.item_embeddings.shape[1]

    def user(self, ids):
        """Rows of the user table: a view for one id, a copy for an array of ids."""
        return self._rows(self.user_embeddings, ids, self._n_users, "user")

    def item(self, ids):
        """Rows of the item table (the pad item n_items is not an item)."""
        return self._rows(self.item_embeddings, ids, self._n_items, "item")

    def _rows(self, table, ids, limit, what):
        if self.dim == 0:
            raise InputError("feature view: no %s embeddings (the teacher exported none)" % what)
        ids_array = np.asarray(ids)
        if ids_array.dtype.kind not in "iu":
            raise InputError("feature view: %s ids must be integers" % what)
        if ids_array.size and (ids_array.min() < 0 or ids_array.max() >= limit):
            raise InputError("feature view: %s id outside [0, %d)" % (what, limit))
        return table[int(ids_array)] if ids_array.ndim == 0 else table[ids_array]


def feature_view(env):
    """The embeddings behind an env's ids (RecEnv or VecRecEnv)."""
    return env.feature_view


class _EnvBase:
    def _describe_spaces(self, spaces):
        self.spaces = spaces
        a, h, f = spaces["n_actions"], spaces["history_length"], spaces["n_features"]
        # Gymnasium-style descriptions: shape, dtype and bounds of each field.
        self.single_observation_space = {
            "user": {"shape": (), "dtype": np.int32, "low": 0, "high": spaces["n_users"] - 1},
            # K + 1 in an ended episode's final observation.
            "t": {"shape": (), "dtype": np.int32, "low": 1, "high": spaces["episode_length"] + 1},
            "history": {"shape": (h,), "dtype": np.int32, "low": 0, "high": spaces["pad_item"]},
            "window": {"shape": (a,), "dtype": np.int32, "low": 0, "high": spaces["pad_item"]},
            "action_mask": {"shape": (a,), "dtype": np.int8, "low": 0, "high": 1},
            "teacher_score": {"shape": (a,), "dtype": np.float32, "low": -np.inf, "high": np.inf},
            "teacher_rank": {"shape": (a,), "dtype": np.int32, "low": -1, "high": np.iinfo(np.int32).max},
            "features": {"shape": (a, f), "dtype": np.float32, "low": -np.inf, "high": np.inf},
        }
        self.single_action_space = {"n": a, "dtype": np.int64, "masked_by": "action_mask"}

    @property
    def feature_view(self):
        return FeatureView(self._core.feature_tables(), self.spaces["n_users"], self.spaces["n_items"])

    @property
    def settings(self):
        """The EnvSettings in force (defaults filled in)."""
        return self._core.settings


class RecEnv(_EnvBase):
    """One user's episode at a time (env/rec_env.hpp's RecEnv).

    reset(seed=None, options=None) -> (obs, info): options={"user": u} plays
    user u; otherwise a user is drawn from those with a rewarded item and a
    teacher list, with a generator seeded by `seed` (kept across resets when
    seed is None). step(action) -> (obs, reward, terminated, truncated, info).
    """

    def __init__(self, dataset, knowledge, split="rl", **env_settings):
        self._core = _trd.SingleEnv(
            _dataset(dataset), _knowledge(knowledge), split, _env_settings(env_settings)
        )
        self._describe_spaces(self._core.spaces)
        self._obs = self._core.observation_views()
        self._users = np.asarray(self._core.playable_users(), dtype=np.int32)
        self._rng = np.random.default_rng()
        self._seed = 0

    def reset(self, seed=None, options=None):
        if seed is not None:
            self._rng = np.random.default_rng(seed)
            self._seed = int(seed)
        options = {} if options is None else options
        if not isinstance(options, dict) or set(options) - {"user"}:
            raise TypeError("RecEnv.reset: options must be a dict with at most the key 'user'")
        if "user" in options:
            user = options["user"]
            if not isinstance(user, (int, np.integer)) or isinstance(user, bool):
                raise InputError("reset: options['user'] must be an integer user id")
            user = int(user)
        else:
            if self._users.size == 0:
                raise InputError("no user to play: none has a rewarded item (an empty split?)")
            user = int(self._rng.choice(self._users))
        info = self._core.reset(self._seed, user)
        return self._obs, info

    def step(self, action):
        reward, terminated, truncated, info = self._core.step(int(action))
        return self._obs, reward, terminated, truncated, info


class VecRecEnv(_EnvBase):
    """num_envs users in lockstep (env/rec_env.hpp's VecRecEnv), Gymnasium's
    vector API with SAME_STEP autoreset: when a sub-env's episode ends in
    step(), that call starts its next one, `obs` holds the new first
    observation, info["final_observation"] the ended episodes' last ones
    (meaningful in the rows where info["_final_observation"] is True).

    users: the users episodes are drawn from (default: every user with a
    rewarded item and a teacher list); order: "random" (uniform draws, for
    training) or "sequential" (each user once; info["active"] turns False for
    a sub-env with no user left, and all_done once every one has ended).
    """

    def __init__(self, dataset, knowledge, split="rl", num_envs=64, users=None,
                 order="random", **env_settings):
        self._core = _trd.BatchEnv(
            _dataset(dataset), _knowledge(knowledge), split, _env_settings(env_settings),
            int(num_envs), users, order,
        )
        self.num_envs = self._core.num_envs
        self._describe_spaces(self._core.spaces)
        self._obs = self._core.observation_views()
        self._final = self._core.final_observation_views()
        views = self._core.step_views()
        self._reward = views["reward"]
        self._terminated = views["terminated"]
        self._truncated = views["truncated"]
        self._ended = np.zeros(self.num_envs, dtype=bool)
        self._info = {
            "item": views["item"],
            "hit": views["hit"],
            "active": views["active"],
            "final_observation": self._final,
            "_final_observation": self._ended,
        }
        self._seed_rng = np.random.default_rng()
        self._started = False

    @property
    def users(self):
        return np.asarray(self._core.users, dtype=np.int32)

    @property
    def all_done(self):
        return self._core.all_done

    def reset(self, seed=None, options=None):
        """Starts every sub-env; `seed` seeds every sub-env's user draws
        (None: a fresh seed from a generator kept across resets)."""
        if seed is not None:
            self._seed_rng = np.random.default_rng(seed)
        else:
            seed = int(self._seed_rng.integers(0, 2**63))
        self._core.reset(int(seed))
        self._ended[:] = False
        self._started = True
        return self._obs, {"active": self._info["active"]}

    def step(self, actions):
        """actions: [num_envs] slot indices (ignored where a sub-env is
        inactive). An invalid or masked slot raises InputError and no
        sub-env moves. `info` is a new dict each step, of the same views."""
        if not self._started:
            raise InputError("step before reset: call reset first")
        self._core.step(actions)
        np.logical_or(self._terminated, self._truncated, out=self._ended)
        return self._obs, self._reward, self._terminated, self._truncated, dict(self._info)


def evaluate(lists, dataset, split="test", ks=(1, 5, 10, 20), candidates=0, candidate_seed=0):
    """The figures `trd eval --json` reports for `lists` ([n_users, L] item
    ids, best first, -1 padded; or a trd.Knowledge, whose candidate protocol
    must then match) on `split`'s held-out items: keys like "ndcg@5", plus
    users, users_without_history, users_with_hit and mean_first_hit."""
    dataset = _dataset(dataset)
    if isinstance(lists, (str, os.PathLike)):
        lists = read_knowledge(os.fspath(lists))
    if isinstance(lists, Knowledge):
        _trd.check_knowledge_use(lists, dataset, int(candidates), int(candidate_seed))
        lists = lists.ranking_items
    return _trd.evaluate(lists, dataset, split, [int(k) for k in ks], int(candidates),
                         int(candidate_seed))
