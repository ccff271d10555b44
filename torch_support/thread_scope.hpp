#pragma once

// Thread counts for LibTorch code (agents/ and the neural teachers).
//
// Debian's OpenBLAS keeps its own thread pool (one thread per core by default)
// beside torch's OpenMP one: with torch on one thread it still kept a second
// core busy, and its thread count changes results in the last bits (ML-100K
// NDCG@10 moved in the 4th digit), so the same seed would give other models on
// machines with other core counts. BLAS calls therefore run on one thread and
// the requested threads go to torch alone. OpenBLAS is looked up at run time:
// trd does not link it, and torch may have been built with another BLAS.

#include <dlfcn.h>
#include <torch/torch.h>

namespace trd {

/// Sets torch's thread count (and OpenBLAS's to one) for a scope and restores
/// the caller's, so one component's setting does not leak into other code.
class ThreadScope {
 public:
  explicit ThreadScope(int torch_threads)
      : saved_torch_(torch::get_num_threads()),
        blas_set_(
            reinterpret_cast<BlasSetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))),
        blas_get_(
            reinterpret_cast<BlasGetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"))) {
    torch::set_num_threads(torch_threads);
    if (blas_set_ != nullptr && blas_get_ != nullptr) {
      saved_blas_ = blas_get_();
      blas_set_(1);
    }
  }
  ~ThreadScope() {
    torch::set_num_threads(saved_torch_);
    if (blas_set_ != nullptr && blas_get_ != nullptr) blas_set_(saved_blas_);
  }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  using BlasSetThreads = void (*)(int);
  using BlasGetThreads = int (*)();

  int saved_torch_;
  BlasSetThreads blas_set_;
  BlasGetThreads blas_get_;
  int saved_blas_ = 0;
};

}  // namespace trd
