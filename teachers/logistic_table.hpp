#pragma once

#include <algorithm>
#include <cmath>

namespace trd {

/// sigma(f) and softplus(f) = log(1 + exp(f)) read from tables, as word2vec
/// reads sigma: std::exp per target took a fifth of item2vec's training time
/// and std::log1p(std::exp) a quarter of BPRMF's. Beyond |f| = 8 sigma is
/// within 3.4e-4 of 0 or 1, and softplus of max(f, 0); inside, a value is
/// that of its bin's centre, 1/256 wide.
class LogisticTable {
 public:
  LogisticTable() {
    for (int i = 0; i < kSize; ++i) {
      const double f = (i + 0.5) / kScale - kRange;
      sigma_[i] = static_cast<float>(1 / (1 + std::exp(-f)));
      const double magnitude = (i + 0.5) / kScale;
      log1p_exp_minus_[i] = static_cast<float>(std::log1p(std::exp(-magnitude)));
    }
  }
  // Clamped rather than branched on: the branches on f's sign and range
  // mispredicted often enough to cost a tenth of item2vec's training time.
  // The clamp is on the float, where a NaN or an infinity (a fit diverging)
  // lands on an end of the table; cast first, it would index outside it.
  float sigma(float f) const { return sigma_[bin((f + kRange) * kScale)]; }
  /// log(1 + exp(f)) = max(f, 0) + log(1 + exp(-|f|)).
  float softplus(float f) const {
    return std::max(f, 0.0f) + log1p_exp_minus_[bin(std::abs(f) * kScale)];
  }

 private:
  static constexpr int kSize = 4096;
  static constexpr float kRange = 8;
  static constexpr float kScale = kSize / (2 * kRange);

  /// `position` clamped to [0, kSize - 1] (NaN to 0) and truncated; the
  /// comparisons compile to maxss and minss.
  static int bin(float position) {
    const float low = position > 0 ? position : 0.0f;
    return static_cast<int>(low < kSize - 1 ? low : static_cast<float>(kSize - 1));
  }

  float sigma_[kSize];
  float log1p_exp_minus_[kSize];  ///< over |f| in [0, 2 kRange)
};

}  // namespace trd
