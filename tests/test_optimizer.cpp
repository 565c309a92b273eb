// Adam as torch.optim.Adam (bias-corrected, eps outside the square root).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "s3rec/params.h"

using namespace s3rec;

namespace {

// torch.optim.Adam, in double, for one parameter vector and a sequence of gradients
std::vector<double> torch_adam(std::vector<double> p, const std::vector<std::vector<double>>& grads, double lr) {
  std::vector<double> m(p.size(), 0.0), v(p.size(), 0.0);
  const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
  int t = 0;
  for (const auto& g : grads) {
    ++t;
    for (size_t i = 0; i < p.size(); ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const double mhat = m[i] / (1 - std::pow(b1, t)), denom = std::sqrt(v[i]) / std::sqrt(1 - std::pow(b2, t)) + eps;
      p[i] -= lr * mhat / denom;
    }
  }
  return p;
}

}  // namespace

TEST(Adam, MatchesTorchOverThreeSteps) {
  const std::vector<std::vector<double>> grads{{0.5, -2.0, 1e-3, 0.0}, {0.4, -1.0, -1e-3, 3.0}, {-0.2, 0.5, 2e-3, 1.0}};
  std::vector<float> p{1.0f, -1.0f, 0.25f, 0.0f};
  const std::vector<double> want = torch_adam({1.0, -1.0, 0.25, 0.0}, grads, 1e-3);
  Adam adam(p.size(), AdamConfig{});
  for (const auto& g : grads) {
    const std::vector<float> gf(g.begin(), g.end());
    adam.step(p.data(), gf.data());
  }
  EXPECT_EQ(adam.steps(), 3);
  for (size_t i = 0; i < p.size(); ++i) EXPECT_NEAR(p[i], want[i], 1e-6) << "parameter " << i;
}

TEST(Adam, StepAndZeroGradIsStepThenZeroedGradients) {
  const size_t n = 20000;  // several chunks, run in parallel
  std::vector<float> p1(n), p2(n), g(n);
  for (size_t i = 0; i < n; ++i) {
    p1[i] = p2[i] = std::sin(float(i));
    g[i] = std::cos(float(i) * 0.7f);
  }
  Adam a1(n, AdamConfig{}), a2(n, AdamConfig{});
  std::vector<float> g2 = g;
  for (int s = 0; s < 2; ++s) {
    a1.step(p1.data(), g.data());
    a2.step_and_zero_grad(p2.data(), g2.data());
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(g2[i], 0.0f) << "gradient " << i << " after step " << s;
    g2 = g;
  }
  EXPECT_EQ(p1, p2);
  EXPECT_EQ(a1.exp_avg(), a2.exp_avg());
  EXPECT_EQ(a1.exp_avg_sq(), a2.exp_avg_sq());
}
