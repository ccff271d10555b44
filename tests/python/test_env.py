"""The Python environments against DESIGN.md's rules: the golden episodes
(shared/golden/env_episodes.json) step by step through trd.RecEnv and
trd.VecRecEnv, a random rollout that checks SAME_STEP autoreset, final
observations and masks, an invalid action that raises trd.InputError and moves
nothing, and observations that are views of the C++ buffers (zero copy).

Run by CTest with PYTHONPATH at the build tree's package:
  PYTHONPATH=build/python python3 tests/python/test_env.py
"""

import json
import math
import os
import sys

import numpy as np

import trd

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLDEN = os.path.join(SOURCE_DIR, "..", "shared", "golden", "env_episodes.json")


def golden_or_skip():
    if os.path.isfile(GOLDEN):
        with open(GOLDEN) as f:
            return json.load(f)
    message = f"golden episodes not found (looked in {GOLDEN})"
    if os.environ.get("CI") == "true":
        raise AssertionError("CI=true and " + message)
    print("SKIPPED: " + message)
    sys.exit(0)


def golden_inputs(golden):
    """A dataset and knowledge holding the golden episodes: user u's past items
    in the base split (time order), its held-out items in the rl split, its
    teacher list as the rl-stage ranking with decreasing scores."""
    episodes = golden["episodes"]
    n_users, n_items = len(episodes), golden["settings"]["n_items"]
    base = {"user": [], "item": []}
    rl = {"user": [], "item": []}
    longest = max(len(e["teacher_list"]) for e in episodes.values())
    lists = np.full((n_users, longest), -1, dtype=np.int32)
    scores = np.zeros((n_users, longest), dtype=np.float32)
    for u in range(n_users):
        episode = episodes[str(u)]
        for item in episode["past_items_in_time_order"]:
            base["user"].append(u)
            base["item"].append(item)
        for item in episode["held_out"]:
            rl["user"].append(u)
            rl["item"].append(item)
        ranked = episode["teacher_list"]
        lists[u, :len(ranked)] = ranked
        scores[u, :len(ranked)] = 100.0 - 2.0 * np.arange(len(ranked))
    dataset = trd.Dataset.from_splits({"base": base, "rl": rl}, n_users=n_users, n_items=n_items,
                                      name="golden")
    knowledge = trd.Knowledge(teacher="golden", stage="rl", ranking_items=lists,
                              ranking_scores=scores, dataset=dataset)
    s = golden["settings"]
    settings = dict(n_actions=s["n_actions"], history_length=s["history_length"],
                    episode_length=s["episode_length"], reward=s["reward"])
    return dataset, knowledge, settings


def check_canonical(obs, canonical, pad, where):
    """`obs` (one row's arrays) against the golden file's canonical form."""
    assert int(obs["t"]) == canonical["t"], (where, int(obs["t"]), canonical["t"])
    history = [int(i) for i in obs["history"] if i != pad]
    assert history == canonical["history"], (where, history, canonical["history"])
    valid = canonical["valid_slots"]
    mask = np.asarray(obs["action_mask"])
    assert mask.dtype == np.int8, mask.dtype
    assert list(mask) == [1] * valid + [0] * (len(mask) - valid), (where, mask)
    assert [int(i) for i in obs["window"][:valid]] == canonical["window"], (where, obs["window"])
    assert all(int(i) == pad for i in obs["window"][valid:]), (where, obs["window"])
    ranks = [int(r) for r in obs["teacher_rank"][:valid]]
    assert ranks == canonical["teacher_rank_of_window"], (where, ranks)


def row(batch, r):
    return {key: value[r] for key, value in batch.items()}


def test_golden_through_rec_env(golden):
    dataset, knowledge, settings = golden_inputs(golden)
    env = trd.RecEnv(dataset, knowledge, split="rl", **settings)
    pad = env.spaces["pad_item"]
    assert pad == golden["settings"]["n_items"]
    played = 0
    for user, episode in golden["episodes"].items():
        obs, info = env.reset(seed=0, options={"user": int(user)})
        assert int(obs["user"]) == int(user)
        check_canonical(obs, episode["first_observation"], pad, f"user {user} reset")
        for t, step in enumerate(episode["steps"], start=1):
            obs, reward, terminated, truncated, info = env.step(step["action"])
            where = f"user {user} step {t}"
            assert info["item"] == step["item"], (where, info, step)
            assert math.isclose(reward, step["reward"], abs_tol=1e-6), (where, reward, step)
            assert (terminated, truncated) == (step["terminated"], step["truncated"]), where
            check_canonical(obs, step["next"], pad, where)
            played += 1
    assert played == sum(len(e["steps"]) for e in golden["episodes"].values())


def test_golden_invalid_action_through_rec_env(golden):
    """The golden note's example: user 1, t = 2, action 2 is an invalid slot."""
    dataset, knowledge, settings = golden_inputs(golden)
    env = trd.RecEnv(dataset, knowledge, **settings)
    env.reset(options={"user": 1})
    obs, *_ = env.step(golden["episodes"]["1"]["steps"][0]["action"])
    before = {key: np.copy(value) for key, value in obs.items()}
    assert int(obs["action_mask"][2]) == 0, obs["action_mask"]
    try:
        env.step(2)
    except trd.InputError as error:
        assert "action 2" in str(error) and "masked" in str(error), str(error)
    else:
        raise AssertionError("a masked slot was accepted")
    for key, value in before.items():
        assert np.array_equal(obs[key], value), key
    # The episode goes on from where it was.
    obs, reward, *_ = env.step(golden["episodes"]["1"]["steps"][1]["action"])
    assert int(obs["t"]) == 3


def test_golden_through_vec_env(golden):
    """All golden users in lockstep, each sub-env playing its user once."""
    dataset, knowledge, settings = golden_inputs(golden)
    episodes = golden["episodes"]
    users = sorted(int(u) for u in episodes)
    env = trd.VecRecEnv(dataset, knowledge, num_envs=len(users), users=users,
                        order="sequential", **settings)
    pad = env.spaces["pad_item"]
    obs, info = env.reset(seed=3)
    for r, user in enumerate(users):
        check_canonical(row(obs, r), episodes[str(user)]["first_observation"], pad, f"row {r}")
    longest = max(len(e["steps"]) for e in episodes.values())
    for t in range(longest):
        actions = np.zeros(len(users), dtype=np.int32)
        for r, user in enumerate(users):
            steps = episodes[str(user)]["steps"]
            if t < len(steps):
                actions[r] = steps[t]["action"]
        obs, reward, terminated, truncated, info = env.step(actions)
        for r, user in enumerate(users):
            steps = episodes[str(user)]["steps"]
            if t >= len(steps):
                assert not info["active"][r]
                continue
            step, where = steps[t], f"user {user} step {t + 1}"
            assert int(info["item"][r]) == step["item"], where
            assert math.isclose(float(reward[r]), step["reward"], abs_tol=1e-6), where
            assert (bool(terminated[r]), bool(truncated[r])) == (step["terminated"],
                                                                 step["truncated"]), where
            ended = step["terminated"] or step["truncated"]
            assert bool(info["_final_observation"][r]) == ended, where
            # The ended episode's last observation is in final_observation;
            # obs holds what comes next (here: nothing, each user plays once).
            check_canonical(row(info["final_observation"], r) if ended else row(obs, r),
                            step["next"], pad, where)
    assert env.all_done


def synthetic_inputs(folder):
    """A small synthetic dataset and a knowledge of random lists over it."""
    import subprocess
    path = os.path.join(folder, "d.h5")
    subprocess.run([TRD, "data", "--dataset", "synthetic", "--synthetic-interactions", "3000",
                    "--out", path], check=True, capture_output=True)
    dataset = trd.read_dataset(path)
    rng = np.random.default_rng(0)
    lists = np.stack([rng.permutation(dataset.n_items)[:40] for _ in range(dataset.n_users)])
    scores = np.sort(rng.random(lists.shape).astype(np.float32))[:, ::-1]
    knowledge = trd.Knowledge(teacher="random-lists", stage="rl", ranking_items=lists,
                              ranking_scores=np.ascontiguousarray(scores), dataset=dataset)
    return dataset, knowledge


def test_random_rollout(dataset, knowledge):
    """Autoreset, final observations, masks and the invalid-action rule over a
    long random rollout, each step checked against the previous one."""
    env = trd.VecRecEnv(dataset, knowledge, num_envs=16, n_actions=10, episode_length=6)
    assert env.num_envs == 16
    assert env.single_action_space["n"] == 10
    assert env.single_observation_space["features"]["shape"] == (10, env.spaces["n_features"])
    rng = np.random.default_rng(1)
    obs, _ = env.reset(seed=5)
    assert (obs["t"] == 1).all()
    ended_episodes = 0
    for step in range(300):
        previous = {key: np.copy(value) for key, value in obs.items()}
        mask = obs["action_mask"].astype(bool)
        assert mask.any(axis=1).all(), "an active row without a valid slot"
        actions = np.array([rng.choice(np.flatnonzero(m)) for m in mask], dtype=np.int32)
        if step % 50 == 7:
            bad = actions.copy()
            row_ = step % env.num_envs
            invalid = np.flatnonzero(~mask[row_])
            bad[row_] = invalid[0] if invalid.size else 10
            try:
                env.step(bad)
            except trd.InputError:
                pass
            else:
                raise AssertionError("an invalid slot was accepted")
            for key, value in previous.items():
                assert np.array_equal(obs[key], value), f"{key} moved on a refused step"
        obs, reward, terminated, truncated, info = env.step(actions)
        ended = terminated | truncated
        assert np.array_equal(info["_final_observation"], ended)
        final = info["final_observation"]
        for r in range(env.num_envs):
            picked = previous["window"][r, actions[r]]
            assert info["item"][r] == picked
            last = {key: value[r] for key, value in final.items()} if ended[r] else \
                {key: value[r] for key, value in obs.items()}
            # The observation after a pick: t moved on and the picked item left the window.
            assert int(last["t"]) == int(previous["t"][r]) + 1
            assert picked not in last["window"][last["action_mask"].astype(bool)]
            assert int(last["user"]) == int(previous["user"][r])
            # The env computes features on read: the views show this step's,
            # whose last column is the position (t - 1) / K in valid slots.
            for seen in (last, {key: value[r] for key, value in obs.items()}):
                slots = seen["action_mask"].astype(bool)
                assert np.allclose(seen["features"][slots, -1], (int(seen["t"]) - 1) / 6)
            if ended[r]:
                ended_episodes += 1
                assert int(obs["t"][r]) == 1, "autoreset did not start a new episode"
                assert terminated[r] == (int(last["t"]) == 7)
            assert (reward[r] > 0) == bool(info["hit"][r])
            valid = obs["action_mask"][r].astype(bool)
            assert (obs["window"][r][~valid] == env.spaces["pad_item"]).all()
            assert (obs["teacher_rank"][r][~valid] == -1).all()
    assert ended_episodes > 100, ended_episodes


def test_zero_copy(dataset, knowledge):
    """Observation arrays are views of the env's C++ buffers: the same memory
    at every step, overwritten in place, and read-only."""
    env = trd.VecRecEnv(dataset, knowledge, num_envs=8, n_actions=5)
    obs, _ = env.reset(seed=0)
    first = dict(obs)
    address = obs["window"].__array_interface__["data"][0]
    kept = np.copy(obs["window"])
    obs2, reward, terminated, truncated, info = env.step(np.zeros(8, dtype=np.int32))
    for key in first:
        assert obs2[key] is first[key] or np.shares_memory(obs2[key], first[key]), key
    assert obs2["window"].__array_interface__["data"][0] == address
    assert not np.array_equal(obs2["window"], kept), "the step did not write through the view"
    assert not obs2["window"].flags.writeable
    assert np.shares_memory(info["final_observation"]["window"],
                            env._core.final_observation_views()["window"])
    # A second read of the C++ batch within the step is the same memory.
    assert np.shares_memory(env._core.observation_views()["window"], obs2["window"])
    single = trd.RecEnv(dataset, knowledge, n_actions=5)
    o, _ = single.reset(seed=0)
    o2, *_ = single.step(0)
    assert np.shares_memory(o["window"], o2["window"])
    view = env.feature_view
    assert view.dim == 0  # the random-lists knowledge exports no embeddings


def test_feature_view(dataset, tmp):
    rng = np.random.default_rng(2)
    lists = np.stack([rng.permutation(dataset.n_items)[:30] for _ in range(dataset.n_users)])
    users = rng.standard_normal((dataset.n_users, 4)).astype(np.float32)
    items = rng.standard_normal((dataset.n_items, 4)).astype(np.float32)
    scores = np.ascontiguousarray(np.sort(rng.random(lists.shape).astype(np.float32))[:, ::-1])
    knowledge = trd.Knowledge(teacher="emb", stage="rl", ranking_items=lists,
                              ranking_scores=scores, dataset=dataset,
                              user_embeddings=users, item_embeddings=items)
    env = trd.VecRecEnv(dataset, knowledge, num_envs=4, n_actions=5)
    view = trd.feature_view(env)
    assert view.dim == 4
    assert np.array_equal(view.item_embeddings, items)
    assert np.array_equal(view.user(3), users[3])
    assert np.shares_memory(view.user(3), view.user_embeddings)  # one id: a view
    assert np.shares_memory(view.user_embeddings, env.feature_view.user_embeddings)
    assert np.array_equal(view.item([1, 2]), items[[1, 2]])
    try:
        view.item(dataset.n_items)  # the pad item is not an item
    except trd.InputError:
        pass
    else:
        raise AssertionError("the pad item had an embedding")


def test_settings_and_errors(dataset, knowledge):
    env = trd.VecRecEnv(dataset, knowledge, num_envs=2, feedback="none", reward="binary",
                        features=["teacher_score", "position"])
    assert env.settings["feedback"] == "none"
    assert env.settings["reward"] == "binary"
    assert env.spaces["n_features"] == 2
    for bad, needle in ((dict(n_actions=0), "n-actions"), (dict(feedback="labels"), "feedback"),
                        (dict(reward="ndcg"), "ndcg"), (dict(features="colour"), "colour")):
        try:
            trd.VecRecEnv(dataset, knowledge, **bad)
        except trd.InputError as error:
            assert needle in str(error), (bad, str(error))
        else:
            raise AssertionError(f"{bad} was accepted")
    try:
        trd.VecRecEnv(dataset, knowledge, colour=1)
    except TypeError as error:
        assert "colour" in str(error)
    else:
        raise AssertionError("an unknown keyword was accepted")
    fresh = trd.VecRecEnv(dataset, knowledge, num_envs=2)
    try:
        fresh.step(np.zeros(2, dtype=np.int32))
    except trd.InputError as error:
        assert "reset" in str(error), str(error)
    else:
        raise AssertionError("a step before reset was accepted")
    fresh.reset(seed=0)
    for actions, needle in ((np.array([2**32, 0]), "do not fit int32"),
                            (np.array([0.9, 0.0]), "expected integers")):
        try:
            fresh.step(actions)
        except trd.InputError as error:
            assert needle in str(error), (actions, str(error))
        else:
            raise AssertionError(f"actions {actions} were accepted")
    assert (fresh.step(np.zeros(2, dtype=np.int64))[0]["t"] == 2).all()
    try:
        env.reset(seed=0)
        env.step(np.zeros(3, dtype=np.int32))
    except trd.InputError as error:
        assert "shape (2,)" in str(error), str(error)
    else:
        raise AssertionError("a wrong number of actions was accepted")


TRD = None


def main():
    global TRD
    import tempfile
    TRD = os.path.abspath(sys.argv[1])
    golden = golden_or_skip()
    test_golden_through_rec_env(golden)
    test_golden_invalid_action_through_rec_env(golden)
    test_golden_through_vec_env(golden)
    with tempfile.TemporaryDirectory() as tmp:
        dataset, knowledge = synthetic_inputs(tmp)
        test_random_rollout(dataset, knowledge)
        test_zero_copy(dataset, knowledge)
        test_feature_view(dataset, tmp)
        test_settings_and_errors(dataset, knowledge)


if __name__ == "__main__":
    main()
    print("ok")
