#pragma once

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace trd {

/// Runs one task at a time on a thread of its own: train_agent() plays the
/// next env step on one while this step's updates run, and DqnAgent readies
/// its next minibatch on one while the one before it learns. Destroyed, it
/// lets a running task finish first.
class TaskWorker {
 public:
  TaskWorker();
  TaskWorker(const TaskWorker&) = delete;
  TaskWorker& operator=(const TaskWorker&) = delete;
  ~TaskWorker();

  /// Starts `task` once the one before it has ended.
  void start(std::function<void()> task);
  /// Waits for the task started last (at once when it has ended) and
  /// rethrows what it threw.
  void wait();

 private:
  void serve();

  std::mutex mutex_;
  std::condition_variable changed_;
  std::function<void()> task_;  // set while a task waits or runs
  std::exception_ptr error_;
  bool stopping_ = false;
  std::thread thread_;  // last: it starts once the rest is built
};

}  // namespace trd
