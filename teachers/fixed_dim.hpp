#pragma once

#include <Eigen/Core>
#include <type_traits>

namespace trd {

/// Calls `body(std::integral_constant<int, D>{})` with D = `dim` for the
/// common embedding sizes and D = Eigen::Dynamic for the others. An SGD
/// kernel templated on D maps its rows as fixed-size vectors, which Eigen
/// unrolls into a few packet operations; a run-time length costs a loop with
/// a head and a tail on every dot product and update.
template <typename Body>
decltype(auto) with_fixed_dim(int dim, Body&& body) {
  switch (dim) {
    case 16:
      return body(std::integral_constant<int, 16>{});
    case 32:
      return body(std::integral_constant<int, 32>{});
    case 64:
      return body(std::integral_constant<int, 64>{});
    default:
      return body(std::integral_constant<int, Eigen::Dynamic>{});
  }
}

}  // namespace trd
