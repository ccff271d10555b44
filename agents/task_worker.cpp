#include "agents/task_worker.hpp"

#include <utility>

namespace trd {

TaskWorker::TaskWorker() : thread_([this] { serve(); }) {}

TaskWorker::~TaskWorker() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void TaskWorker::start(std::function<void()> task) {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return !task_; });
    task_ = std::move(task);
  }
  changed_.notify_all();
}

void TaskWorker::wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return !task_; });
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

void TaskWorker::serve() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return task_ || stopping_; });
    if (!task_) return;
    lock.unlock();
    try {
      task_();
    } catch (...) {
      error_ = std::current_exception();
    }
    lock.lock();
    task_ = nullptr;
    changed_.notify_all();
  }
}

}  // namespace trd
