#pragma once

#include <stdexcept>
#include <string>

namespace trd {

/// Bad input from the user (a file, a flag, a value): the message names the
/// input and the problem. apps/ turns it into exit code 2; anything else is an
/// internal error (exit 1).
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A failure outside both the input and trd: another process of a
/// data-parallel group died, stopped answering or cannot be reached. apps/
/// reports its message as an error, not an internal one, with exit code 1.
class ExternalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The most threads any trd component takes: more cores than these machines
/// have, and few enough that a typo (100000) is bad input, not an abort in
/// std::thread or a hang in LibTorch's pool.
inline constexpr int kMaxThreads = 256;

/// InputError naming `flag` unless `threads` is in [1, kMaxThreads].
inline void check_thread_count(int threads, const std::string& flag) {
  if (threads < 1 || threads > kMaxThreads) {
    throw InputError(flag + " " + std::to_string(threads) + ": threads must be in [1, " +
                     std::to_string(kMaxThreads) + "]");
  }
}

}  // namespace trd
