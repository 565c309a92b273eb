// Adam as torch.optim.Adam (bias-corrected, eps outside the square root), and the model
// optimizer: dense parameters, and row-sparse ones updated only where touched.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "s3rec/optimizer.h"
#include "s3rec/rng.h"

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

namespace {

// A store with a row-sparse table [R x d] and a dense vector, and the same values laid
// out for flat references: table rows first, then the dense vector.
struct TwoParams {
  ParamStore P;
  int table = -1, dense = -1;
  TwoParams(int R, int d, int n) {
    table = P.add("item_embeddings.weight", {R, d}, GradLayout::RowSparse);
    dense = P.add("w", {n});
    P.allocate();
  }
};

// Gradient magnitudes from 1e-7 to 1 (log-uniform per row), so that rows take every path of
// the catch-up: exact steps, the series, and the exact window where eps matters.
struct RowTraffic {
  std::vector<double> touch_p, scale;
  RowTraffic(int R, Rng& rng) {
    for (int r = 0; r < R; ++r) {
      touch_p.push_back(std::pow(10.0, -3.3 * rng.uniform()));  // gaps of 1 to ~2000 steps
      scale.push_back(std::pow(10.0, -7.0 * rng.uniform()));
    }
  }
};

double max_rel_diff(const float* a, const float* b, size_t n, double floor) {
  double m = 0.0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]) / std::max(floor, std::fabs(double(b[i]))));
  return m;
}

}  // namespace

TEST(Optimizer, LazyRowsMatchDenseAdamOverThousandsOfSteps) {
  const int R = 300, d = 8, n = 5, steps = 3000;
  TwoParams tp(R, d, n);
  Rng rng(17);
  for (float& x : tp.P.values()) x = float(rng.normal());
  const size_t total = tp.P.total();
  std::vector<float> ref(tp.P.values());  // dense reference: flat Adam over every value
  std::vector<double> ref64(ref.begin(), ref.end()), m64(total, 0.0), v64(total, 0.0);
  Adam flat(total, AdamConfig{});
  Optimizer opt(tp.P, AdamConfig{}, Learner::Adam);
  RowTraffic traffic(R, rng);
  std::vector<float> g(total);
  const double b1 = 0.9, b2 = 0.999;
  for (int t = 1; t <= steps; ++t) {
    std::fill(g.begin(), g.end(), 0.0f);
    std::vector<int> touched;
    for (int r = 0; r < R; ++r)
      if (rng.uniform() < traffic.touch_p[r]) touched.push_back(r);
    // reads before the step: the touched rows and a few others
    std::vector<int> read = touched;
    for (int k = 0; k < 5; ++k) read.push_back(int(rng.uniform_int(0, R - 1)));
    opt.prepare_rows(tp.table, read);
    std::vector<float> rows(touched.size() * d);
    for (size_t i = 0; i < touched.size(); ++i)
      for (int j = 0; j < d; ++j) {
        const float x = float(rng.normal() * traffic.scale[touched[i]]);
        rows[i * d + j] = x;
        g[size_t(touched[i]) * d + j] = x;
      }
    tp.P.row_grad(tp.table).scatter_add(rows.data(), touched.data(), int(touched.size()), false);
    for (int j = 0; j < n; ++j) g[size_t(R) * d + j] = tp.P.grad(tp.dense)[j] = float(rng.normal());
    flat.step(ref.data(), g.data());
    for (size_t i = 0; i < total; ++i) {  // torch's Adam in double
      m64[i] = b1 * m64[i] + (1 - b1) * g[i];
      v64[i] = b2 * v64[i] + (1 - b2) * double(g[i]) * g[i];
      ref64[i] -= 1e-3 / (1 - std::pow(b1, t)) * m64[i] / (std::sqrt(v64[i]) / std::sqrt(1 - std::pow(b2, t)) + 1e-8);
    }
    opt.step();
    if (t % 700 == 0) opt.catch_up_all();  // epoch ends
    // rows read this step are current: they equal the dense update's values
    for (int r : touched)
      ASSERT_LT(max_rel_diff(tp.P.value(tp.table) + size_t(r) * d, ref.data() + size_t(r) * d, d, 1.0), 2e-5)
          << "row " << r << " after step " << t;
  }
  opt.catch_up_all();
  EXPECT_TRUE(opt.caught_up());
  const std::vector<float>& p = tp.P.values();
  const double vs_float = max_rel_diff(p.data(), ref.data(), total, 1.0);
  std::vector<float> ref64f(ref64.begin(), ref64.end());
  const double vs_double = max_rel_diff(p.data(), ref64f.data(), total, 1.0);
  const double float_vs_double = max_rel_diff(ref.data(), ref64f.data(), total, 1.0);
  RecordProperty("lazy_vs_dense_float", std::to_string(vs_float));
  RecordProperty("lazy_vs_dense_double", std::to_string(vs_double));
  // The dense float update itself is ~5e-6 from exact (double) Adam after 3000 steps (the
  // rounding of p += step, p ~ 1): the lazy rows are as close to exact as it is.
  EXPECT_LT(vs_double, 1e-5);
  EXPECT_LT(vs_double, 2.0 * float_vs_double + 1e-6) << "dense float vs double: " << float_vs_double;
  EXPECT_LT(vs_float, 1e-5);
  EXPECT_LT(max_rel_diff(opt.exp_avg().data(), flat.exp_avg().data(), total, 1e-12), 1e-4);
  EXPECT_LT(max_rel_diff(opt.exp_avg_sq().data(), flat.exp_avg_sq().data(), total, 1e-20), 1e-4);
  // the drift is real: rows moved while untouched
  EXPECT_GT(max_rel_diff(p.data(), std::vector<float>(total, 0.0f).data(), total, 1.0), 0.1);
}

// One row, one touch, then k untouched steps caught up at once, against the same steps
// taken one by one in double: the closed form (series) and the exact window both agree
// to 1e-6 of the drift, for gradients from 1e-7 (eps dominates) to 1.
TEST(Optimizer, CatchUpEqualsSteppingInDouble) {
  for (double gscale : {1.0, 1e-2, 1e-4, 1e-5, 1e-6, 1e-7})
    for (int64_t start : {int64_t(3), int64_t(400), int64_t(5000), int64_t(60000)})
      for (int64_t k : {int64_t(17), int64_t(40), int64_t(255), int64_t(256), int64_t(257), int64_t(3000)}) {
        const int d = 4;
        TwoParams tp(2, d, 1);
        Optimizer opt(tp.P, AdamConfig{}, Learner::Adam);
        opt.set_steps(long(start - 1));
        const std::vector<float> g{float(gscale), float(-0.5 * gscale), float(0.1 * gscale), 0.0f};
        const std::vector<int> row{1};
        tp.P.row_grad(tp.table).scatter_add(g.data(), row.data(), 1, false);
        opt.step();  // step `start`: the touch
        std::vector<double> p(d), m(d), v(d);
        for (int j = 0; j < d; ++j) {
          p[j] = tp.P.value(tp.table)[d + j];
          m[j] = opt.exp_avg()[size_t(d + j)];
          v[j] = opt.exp_avg_sq()[size_t(d + j)];
        }
        std::vector<double> before = p;
        for (int64_t i = start + 1; i <= start + k; ++i)
          for (int j = 0; j < d; ++j) {
            m[j] *= 0.9f;
            v[j] *= 0.999f;
            const double bc1 = 1 - std::pow(double(0.9f), double(i)), bc2 = 1 - std::pow(double(0.999f), double(i));
            p[j] -= double(1e-3f) / bc1 * m[j] / (std::sqrt(v[j]) / std::sqrt(bc2) + double(1e-8f));
          }
        for (int64_t i = 0; i < k; ++i) opt.step();  // k steps without a gradient for the table...
        opt.prepare_rows(tp.table, row);                // ...applied to the row when it is read
        for (int j = 0; j < d; ++j) {
          const double got = tp.P.value(tp.table)[d + j], drift = std::fabs(p[j] - before[j]);
          EXPECT_NEAR(got, p[j], 1e-6 * drift + 2e-8)
              << "g " << gscale << " start " << start << " k " << k << " element " << j;
          EXPECT_NEAR(opt.exp_avg()[size_t(d + j)], m[j], 1e-6 * std::fabs(m[j]) + 1e-30);
        }
      }
}

TEST(Optimizer, ShortGapsAreSteppedExactlyAsTheDenseUpdate) {
  const int R = 20, d = 4;
  TwoParams tp(R, d, 1);
  Rng rng(5);
  for (float& x : tp.P.values()) x = float(rng.normal());
  std::vector<float> ref(tp.P.values()), g(tp.P.total());
  Adam flat(tp.P.total(), AdamConfig{});
  Optimizer opt(tp.P, AdamConfig{}, Learner::Adam);
  for (int t = 1; t <= 200; ++t) {
    std::fill(g.begin(), g.end(), 0.0f);
    const std::vector<int> touched{t % 7 == 0 ? 3 : 5, 11};
    opt.prepare_rows(tp.table, touched);
    std::vector<float> rows(2 * d);
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < d; ++j) rows[i * d + j] = g[size_t(touched[i]) * d + j] = float(rng.normal());
    tp.P.row_grad(tp.table).scatter_add(rows.data(), touched.data(), 2, false);
    flat.step(ref.data(), g.data());
    opt.step();
  }
  opt.catch_up_all();  // row 3's last gap (< 16 steps) and the untouched rows: exact
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < d; ++j)
      EXPECT_EQ(tp.P.value(tp.table)[r * d + j], ref[r * d + j]) << "row " << r;
}

TEST(Optimizer, SparseAdamMovesOnlyTouchedRows) {
  const int R = 10, d = 3;
  TwoParams tp(R, d, 2);
  Rng rng(9);
  for (float& x : tp.P.values()) x = float(rng.normal());
  const std::vector<float> start(tp.P.values());
  Optimizer opt(tp.P, AdamConfig{}, Learner::SparseAdam);
  std::vector<double> p(start.begin(), start.end()), m(start.size(), 0.0), v(start.size(), 0.0);
  const double b1 = 0.9, b2 = 0.999, lr = 1e-3, eps = 1e-8;
  for (int t = 1; t <= 30; ++t) {
    const std::vector<int> touched{t % 3 == 0 ? 2 : 7};
    std::vector<float> row(d);
    for (int j = 0; j < d; ++j) row[j] = float(rng.normal());
    tp.P.row_grad(tp.table).scatter_add(row.data(), touched.data(), 1, false);
    opt.step();
    const double step = lr * std::sqrt(1 - std::pow(b2, t)) / (1 - std::pow(b1, t));  // torch.optim.SparseAdam
    for (int j = 0; j < d; ++j) {
      const size_t i = size_t(touched[0]) * d + j;
      m[i] = b1 * m[i] + (1 - b1) * row[j];
      v[i] = b2 * v[i] + (1 - b2) * double(row[j]) * row[j];
      p[i] -= step * m[i] / (std::sqrt(v[i]) + eps);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < d; ++j) {
      const size_t i = size_t(r) * d + j;
      if (r == 2 || r == 7)
        EXPECT_NEAR(tp.P.values()[i], p[i], 1e-6) << "row " << r;
      else
        EXPECT_EQ(tp.P.values()[i], start[i]) << "untouched row " << r << " must not move";
    }
  EXPECT_EQ(opt.exp_avg()[0], 0.0f);
}

TEST(Optimizer, WeightDecayUpdatesEveryRowDensely) {
  const int R = 6, d = 2;
  TwoParams tp(R, d, 3);
  Rng rng(2);
  for (float& x : tp.P.values()) x = float(rng.normal());
  AdamConfig cfg;
  cfg.weight_decay = 0.01f;
  std::vector<float> ref(tp.P.values()), g(tp.P.total(), 0.0f);
  Adam flat(tp.P.total(), cfg);
  Optimizer opt(tp.P, cfg, Learner::Adam);
  for (int t = 1; t <= 5; ++t) {
    std::fill(g.begin(), g.end(), 0.0f);
    const std::vector<int> touched{1};
    const std::vector<float> row{0.5f, -0.25f};
    tp.P.row_grad(tp.table).scatter_add(row.data(), touched.data(), 1, false);
    g[2] = row[0];
    g[3] = row[1];
    flat.step(ref.data(), g.data());
    opt.step();
  }
  for (int i = 0; i < R * d; ++i) EXPECT_FLOAT_EQ(tp.P.values()[i], ref[i]) << i;
  EXPECT_TRUE(opt.caught_up());
  EXPECT_THROW(Optimizer(tp.P, cfg, Learner::SparseAdam), std::invalid_argument);
}

TEST(Optimizer, LearnerNames) {
  EXPECT_EQ(parse_learner("adam"), Learner::Adam);
  EXPECT_EQ(parse_learner("sparse_adam"), Learner::SparseAdam);
  try {
    parse_learner("sgd");
    FAIL() << "sgd accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("RecBole"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_learner("adamm"), std::invalid_argument);
}
