#pragma once
// Finite-difference gradient checking for float kernels.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "s3rec/rng.h"

namespace s3rec::testing {

inline std::vector<float> random_vec(size_t n, uint64_t seed, float scale = 1.0f) {
  Rng r(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = float(r.normal()) * scale;
  return v;
}

// Central differences of loss() w.r.t. x[i] for up to max_checks entries (evenly spread),
// compared with analytic[i]: |a - n| <= atol + rtol * max(|a|, |n|).
inline void expect_grad_close(const std::string& what, std::vector<float>& x, const std::vector<float>& analytic,
                              const std::function<double()>& loss, float h = 1e-2f, double rtol = 4e-3,
                              double atol = 4e-4, size_t max_checks = 60) {
  ASSERT_EQ(x.size(), analytic.size()) << what;
  const size_t step = x.size() <= max_checks ? 1 : x.size() / max_checks;
  int bad = 0;
  double max_abs = 0.0;
  for (size_t i = 0; i < x.size(); i += step) {
    const float orig = x[i];
    x[i] = orig + h;
    const double lp = loss();
    x[i] = orig - h;
    const double lm = loss();
    x[i] = orig;
    const double num = (lp - lm) / (2.0 * h);
    const double a = analytic[i];
    max_abs = std::max(max_abs, std::fabs(a));
    if (std::fabs(a - num) > atol + rtol * std::max(std::fabs(a), std::fabs(num))) {
      if (++bad <= 5) ADD_FAILURE() << what << "[" << i << "]: analytic " << a << " vs numeric " << num;
    }
  }
  EXPECT_EQ(bad, 0) << what;
  EXPECT_GT(max_abs, 0.0) << what << ": gradient is identically zero, the check proves nothing";
}

inline double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}

}  // namespace s3rec::testing
