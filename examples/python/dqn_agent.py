"""A Double DQN student in PyTorch against trd.VecRecEnv (README, "Python").

    PYTHONPATH=build/python python3 examples/python/dqn_agent.py --run runs/latest

reads a `trd run` folder (dataset.h5 and the teacher's knowledge per stage,
TEACHER-rl.h5, -valid.h5, -test.h5), or the four files given one by one;
trains on the rl stage's lists, keeps the epoch whose valid lists score best,
then builds the test lists label-free (feedback "none": no pick sees a
held-out item) and scores them with trd.evaluate, beside the teacher's own.
The last line of stdout is the figures as JSON.

The network mirrors trd's C++ DQN (agents/dqn.cpp): each window slot's
features through a shared MLP, plus the position being filled; Q over the
slots, masked to the valid ones. The targets are Double DQN's:
r + gamma * Q_target(s', argmax_a Q_online(s', a)) with no bootstrap after
termination, where s' is the ended episode's final observation.
"""

import argparse
import copy
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

import trd

WINDOW = 50  # trd's student window (apps/agent_options.hpp, kStudentWindow)


class QNetwork(nn.Module):
    def __init__(self, n_features, hidden):
        super().__init__()
        self.position = nn.Linear(1, hidden)
        self.slot = nn.Linear(n_features, hidden, bias=False)
        self.hidden = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, 1)

    def forward(self, features, position):  # [B, A, F], [B, 1] -> [B, A]
        h = torch.relu(self.position(position).unsqueeze(1) + self.slot(features))
        return self.out(torch.relu(self.hidden(h))).squeeze(2)


def masked(q, mask):
    return q.masked_fill(~mask, float("-inf"))


class Replay:
    """Transitions as numpy rows: features, mask and position of s and s'."""

    def __init__(self, capacity, n_actions, n_features, rng):
        shape = (capacity, n_actions)
        self.features = np.zeros(shape + (n_features,), np.float32)
        self.next_features = np.zeros_like(self.features)
        self.mask = np.zeros(shape, bool)
        self.next_mask = np.zeros(shape, bool)
        self.position = np.zeros((capacity, 1), np.float32)
        self.next_position = np.zeros_like(self.position)
        self.action = np.zeros(capacity, np.int64)
        self.reward = np.zeros(capacity, np.float32)
        self.terminated = np.zeros(capacity, bool)
        self.capacity, self.size, self.next, self.rng = capacity, 0, 0, rng

    def add(self, obs, actions, reward, terminated, next_obs, episode_length):
        n = len(actions)
        rows = (self.next + np.arange(n)) % self.capacity
        self.features[rows] = obs["features"]
        self.mask[rows] = obs["action_mask"].astype(bool)
        self.position[rows, 0] = (obs["t"] - 1) / episode_length
        self.action[rows] = actions
        self.reward[rows] = reward
        self.terminated[rows] = terminated
        self.next_features[rows] = next_obs["features"]
        self.next_mask[rows] = next_obs["action_mask"].astype(bool)
        self.next_position[rows, 0] = (next_obs["t"] - 1) / episode_length
        self.next = (self.next + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

    def sample(self, n):
        rows = self.rng.integers(0, self.size, n)
        as_tensor = torch.from_numpy
        return (as_tensor(self.features[rows]), as_tensor(self.mask[rows]),
                as_tensor(self.position[rows]), as_tensor(self.action[rows]),
                as_tensor(self.reward[rows]), as_tensor(self.terminated[rows]),
                as_tensor(self.next_features[rows]), as_tensor(self.next_mask[rows]),
                as_tensor(self.next_position[rows]))


class DoubleDqn:
    def __init__(self, spaces, args, rng):
        self.online = QNetwork(spaces["n_features"], args.hidden)
        self.target = copy.deepcopy(self.online)
        self.optimizer = torch.optim.Adam(self.online.parameters(), lr=args.lr)
        self.replay = Replay(args.replay, spaces["n_actions"], spaces["n_features"], rng)
        self.episode_length = spaces["episode_length"]
        self.args, self.rng, self.updates, self.explored = args, rng, 0, 0

    def epsilon(self):
        share = min(1.0, self.explored / self.args.epsilon_decay)
        return self.args.epsilon_start + share * (self.args.epsilon_end - self.args.epsilon_start)

    def q_values(self, obs):
        features = torch.tensor(obs["features"])  # a copy: the env owns its views
        position = torch.from_numpy(((obs["t"] - 1) / self.episode_length).astype(np.float32))
        mask = torch.from_numpy(obs["action_mask"].astype(bool))
        with torch.no_grad():
            return masked(self.online(features, position.unsqueeze(1)), mask)

    def act(self, obs, explore):
        actions = self.q_values(obs).argmax(1).numpy().astype(np.int32)
        if explore:
            n = len(actions)
            random_rows = self.rng.random(n) < self.epsilon()
            # A uniform valid slot: the largest of uniform draws over the valid ones.
            draws = self.rng.random(obs["action_mask"].shape) * obs["action_mask"]
            actions[random_rows] = draws.argmax(1)[random_rows]
            self.explored += n
        return actions

    def update(self):
        if self.replay.size < max(self.args.learning_starts, self.args.batch_size):
            return None
        (features, mask, position, action, reward, terminated, next_features, next_mask,
         next_position) = self.replay.sample(self.args.batch_size)
        with torch.no_grad():
            best = masked(self.online(next_features, next_position), next_mask).argmax(1, keepdim=True)
            bootstrap = self.target(next_features, next_position).gather(1, best).squeeze(1)
            # No bootstrap after termination, nor from a state with no valid slot.
            bootstrap = torch.where(terminated | ~next_mask.any(1), torch.zeros_like(bootstrap),
                                    bootstrap)
            targets = reward + self.args.gamma * bootstrap
        q = self.online(features, position).gather(1, action.unsqueeze(1)).squeeze(1)
        loss = nn.functional.smooth_l1_loss(q, targets)
        self.optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.online.parameters(), self.args.grad_clip)
        self.optimizer.step()
        self.updates += 1
        if self.updates % self.args.target_update == 0:
            self.target.load_state_dict(self.online.state_dict())
        return loss.item()


def student_lists(agent, dataset, knowledge, split, settings):
    """Every user's list, label-free: the agent's K greedy picks with feedback
    "none", then the rest of the teacher's list in its order."""
    env = trd.VecRecEnv(dataset, knowledge, split=split, num_envs=256, order="sequential",
                        **{**settings, "feedback": "none"})
    teacher = knowledge.ranking_items
    picks = {}
    obs, info = env.reset(seed=0)
    row_user = obs["user"].copy()
    active = info["active"].copy()
    for r in np.flatnonzero(active):
        picks[int(row_user[r])] = []
    while not env.all_done:
        obs, _, terminated, truncated, info = env.step(agent.act(obs, explore=False))
        for r in np.flatnonzero(active):
            picks[int(row_user[r])].append(int(info["item"][r]))
        ended = terminated | truncated
        row_user = np.where(ended, obs["user"], row_user)
        active = info["active"].copy()
        for r in np.flatnonzero(ended & active):
            picks.setdefault(int(row_user[r]), [])
    lists = np.array(teacher, copy=True)
    for user, items in picks.items():
        picked = set(items)
        rest = [i for i in teacher[user] if i not in picked]
        lists[user] = (items + rest)[:teacher.shape[1]]
    return lists


def inputs(args):
    if args.run:
        teacher = args.teacher
        return (os.path.join(args.run, "dataset.h5"),
                *(os.path.join(args.run, f"{teacher}-{stage}.h5") for stage in ("rl", "valid", "test")))
    missing = [f for f in ("dataset", "knowledge", "valid_knowledge", "test_knowledge")
               if getattr(args, f) is None]
    if missing:
        raise trd.InputError("give --run DIR, or all of --dataset, --knowledge, --valid-knowledge "
                             "and --test-knowledge (missing: %s)" % ", ".join(missing))
    return args.dataset, args.knowledge, args.valid_knowledge, args.test_knowledge


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--run", help="a trd run folder (dataset.h5, TEACHER-{rl,valid,test}.h5)")
    parser.add_argument("--teacher", default="bprmf", help="the teacher's name in --run's files")
    parser.add_argument("--dataset")
    parser.add_argument("--knowledge", help="the teacher's rl-stage knowledge: trains")
    parser.add_argument("--valid-knowledge", help="valid-stage knowledge: picks the best epoch")
    parser.add_argument("--test-knowledge", help="test-stage knowledge: the report")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--num-envs", type=int, default=64)
    parser.add_argument("--updates-per-step", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--gamma", type=float, default=0.5)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--replay", type=int, default=20000)
    parser.add_argument("--learning-starts", type=int, default=1000)
    parser.add_argument("--target-update", type=int, default=200)
    parser.add_argument("--grad-clip", type=float, default=10.0)
    parser.add_argument("--epsilon-start", type=float, default=1.0)
    parser.add_argument("--epsilon-end", type=float, default=0.05)
    parser.add_argument("--epsilon-decay", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        dataset_path, rl_path, valid_path, test_path = inputs(args)
        dataset = trd.read_dataset(dataset_path)
        rl, valid, test = (trd.read_knowledge(p) for p in (rl_path, valid_path, test_path))
    except trd.InputError as error:
        print("dqn_agent: error: %s" % error, file=sys.stderr)
        return 2

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    rng = np.random.default_rng(args.seed)
    settings = dict(n_actions=WINDOW, history_length=5, episode_length=10)
    env = trd.VecRecEnv(dataset, rl, split="rl", num_envs=args.num_envs, **settings)
    agent = DoubleDqn(env.spaces, args, rng)
    steps_per_epoch = -(-len(env.users) * settings["episode_length"] // args.num_envs)
    teacher_valid = trd.evaluate(valid, dataset, split="valid")["ndcg@5"]
    best = (-1.0, 0, None)
    start = time.time()
    obs, _ = env.reset(seed=args.seed)
    for epoch in range(1, args.epochs + 1):
        returns, losses = [], []
        episode_return = np.zeros(args.num_envs)
        for _ in range(steps_per_epoch):
            kept = {key: np.copy(obs[key]) for key in ("features", "action_mask", "t")}
            actions = agent.act(obs, explore=True)
            obs, reward, terminated, truncated, info = env.step(actions)
            ended = info["_final_observation"]
            # Rows whose episode ended bootstrap from its final observation.
            next_obs = {key: np.where(ended.reshape((-1,) + (1,) * (obs[key].ndim - 1)),
                                      info["final_observation"][key], obs[key])
                        for key in kept}
            agent.replay.add(kept, actions, reward, terminated, next_obs,
                             settings["episode_length"])
            episode_return += reward
            returns.extend(episode_return[ended])
            episode_return[ended] = 0
            for _ in range(args.updates_per_step):
                loss = agent.update()
                if loss is not None:
                    losses.append(loss)
        valid_ndcg = trd.evaluate(student_lists(agent, dataset, valid, "valid", settings),
                                  dataset, split="valid")["ndcg@5"]
        if valid_ndcg > best[0]:
            best = (valid_ndcg, epoch, copy.deepcopy(agent.online.state_dict()))
        elapsed = time.time() - start
        print("epoch %d/%d  return %.4f  loss %.4f  explore %.3f  valid ndcg@5 %.4f (teacher %.4f)"
              "  %.0fs, about %.0fs left%s"
              % (epoch, args.epochs, np.mean(returns) if returns else 0.0,
                 np.mean(losses) if losses else 0.0, agent.epsilon(), valid_ndcg, teacher_valid,
                 elapsed, elapsed / epoch * (args.epochs - epoch),
                 "  *" if best[1] == epoch else ""), file=sys.stderr)

    agent.online.load_state_dict(best[2])
    student = trd.evaluate(student_lists(agent, dataset, test, "test", settings), dataset,
                           split="test")
    teacher = trd.evaluate(test, dataset, split="test")
    figures = {"best_epoch": best[1], "valid_student": best[0], "valid_teacher": teacher_valid,
               "seconds": time.time() - start}
    for key in ("ndcg@5", "ndcg@10", "precision@1", "precision@5", "recall@10"):
        figures["test_student_" + key] = student[key]
        figures["test_teacher_" + key] = teacher[key]
    print("test ndcg@5: student %.4f, teacher %.4f (%+.1f%%); label-free lists"
          % (student["ndcg@5"], teacher["ndcg@5"],
             100 * (student["ndcg@5"] / teacher["ndcg@5"] - 1)), file=sys.stderr)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
