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

}  // namespace trd
