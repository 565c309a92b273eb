// Finite-difference checks of every kernel's backward pass.
#include <gtest/gtest.h>

#include <omp.h>

#include <algorithm>
#include <numbers>
#include <numeric>

#include "gradcheck.h"
#include "tensor/activation.h"
#include "tensor/attention.h"
#include "tensor/dropout.h"
#include "tensor/embedding.h"
#include "tensor/layer_norm.h"
#include "tensor/linear.h"
#include "tensor/rows.h"
#include "tensor/sigmoid_bce.h"

using namespace s3rec;
using namespace s3rec::testing;

TEST(KernelGrad, Linear) {
  const int n = 7, in = 5, out = 4;
  auto X = random_vec(n * in, 1), W = random_vec(out * in, 2), b = random_vec(out, 3), R = random_vec(n * out, 4);
  std::vector<float> Y(n * out);
  auto loss = [&] {
    linear_forward(X.data(), n, in, W.data(), b.data(), out, Y.data());
    return dot(Y, R);
  };
  std::vector<float> dX(n * in), dW(out * in, 0.0f), db(out, 0.0f);
  loss();
  linear_backward(X.data(), n, in, W.data(), out, R.data(), dX.data(), false, dW.data(), db.data());
  expect_grad_close("dX", X, dX, loss);
  expect_grad_close("dW", W, dW, loss);
  expect_grad_close("db", b, db, loss);
}

TEST(KernelGrad, LinearAccumulatesWeightGradients) {
  const int n = 3, in = 2, out = 2;
  auto X = random_vec(n * in, 5), W = random_vec(out * in, 6), R = random_vec(n * out, 7);
  std::vector<float> dW1(out * in, 0.0f), db1(out, 0.0f), dX(n * in);
  linear_backward(X.data(), n, in, W.data(), out, R.data(), dX.data(), false, dW1.data(), db1.data());
  std::vector<float> dW2 = dW1, db2 = db1;
  linear_backward(X.data(), n, in, W.data(), out, R.data(), dX.data(), false, dW2.data(), db2.data());
  for (size_t i = 0; i < dW1.size(); ++i) EXPECT_FLOAT_EQ(dW2[i], 2 * dW1[i]);
  for (size_t i = 0; i < db1.size(); ++i) EXPECT_FLOAT_EQ(db2[i], 2 * db1[i]);
}

TEST(KernelGrad, LayerNorm) {
  const int n = 6, d = 8;
  auto X = random_vec(n * d, 11, 2.0f), g = random_vec(d, 12), b = random_vec(d, 13), R = random_vec(n * d, 14);
  std::vector<float> Y(n * d), xhat(n * d), rstd(n);
  auto loss = [&] {
    layer_norm_forward(X.data(), n, d, g.data(), b.data(), 1e-12f, Y.data(), xhat.data(), rstd.data());
    return dot(Y, R);
  };
  loss();
  std::vector<float> dX(n * d), dg(d, 0.0f), db(d, 0.0f);
  layer_norm_backward(R.data(), xhat.data(), rstd.data(), n, d, g.data(), dX.data(), dg.data(), db.data());
  expect_grad_close("dX", X, dX, loss, 1e-2f, 6e-3, 6e-4);
  expect_grad_close("dgamma", g, dg, loss);
  expect_grad_close("dbeta", b, db, loss);
}

TEST(KernelGrad, LayerNormMatchesDefinition) {
  const int d = 4;
  std::vector<float> X{1, 2, 3, 6}, g{1, 1, 1, 1}, b{0, 0, 0, 0}, Y(d), xh(d), rs(1);
  layer_norm_forward(X.data(), 1, d, g.data(), b.data(), 1e-12f, Y.data(), xh.data(), rs.data());
  const double mean = 3.0, var = (4 + 1 + 0 + 9) / 4.0;
  for (int j = 0; j < d; ++j) EXPECT_NEAR(Y[j], (X[j] - mean) / std::sqrt(var), 1e-6);
}

// LayerNorm(Dropout(X) + Res): gradients into X (through dropout), Res, gamma and beta.
void residual_norm_gradcheck(float p) {
  const int n = 6, d = 8;
  auto X = random_vec(n * d, 15, 2.0f), Res = random_vec(n * d, 16), g = random_vec(d, 17), b = random_vec(d, 18),
       R = random_vec(n * d, 19);
  std::vector<float> Y(n * d), xhat(n * d), rstd(n);
  std::vector<uint8_t> keep(n * d);
  auto loss = [&] {
    Y = X;
    dropout_residual_norm_forward(Y.data(), Res.data(), n, d, p, 9, g.data(), b.data(), 1e-12f, keep.data(),
                                  xhat.data(), rstd.data());
    return dot(Y, R);
  };
  loss();
  std::vector<float> dX(n * d), dRes(n * d), dg(d, 0.0f), db(d, 0.0f);
  dropout_residual_norm_backward(R.data(), xhat.data(), rstd.data(), n, d, g.data(), p, keep.data(), dRes.data(),
                                 dX.data(), dg.data(), db.data());
  expect_grad_close("dX", X, dX, loss, 1e-2f, 6e-3, 6e-4);
  expect_grad_close("dRes", Res, dRes, loss, 1e-2f, 6e-3, 6e-4);
  expect_grad_close("dgamma", g, dg, loss);
  expect_grad_close("dbeta", b, db, loss);
}

TEST(KernelGrad, DropoutResidualNorm) { residual_norm_gradcheck(0.3f); }
TEST(KernelGrad, ResidualNormWithoutDropout) { residual_norm_gradcheck(0.0f); }

// The fused forward is exactly dropout_forward, a residual add and layer_norm_forward
// (same mask, same arithmetic), on enough rows to run in parallel.
TEST(KernelGrad, DropoutResidualNormEqualsTheThreeSteps) {
  const int n = 300, d = 64;
  const auto X = random_vec(n * d, 31, 2.0f), Res = random_vec(n * d, 32), g = random_vec(d, 33),
             b = random_vec(d, 34);
  std::vector<float> fused = X, steps = X, xh1(n * d), xh2(n * d), rs1(n), rs2(n);
  std::vector<uint8_t> k1(n * d), k2(n * d);
  dropout_residual_norm_forward(fused.data(), Res.data(), n, d, 0.5f, 77, g.data(), b.data(), 1e-12f, k1.data(),
                                xh1.data(), rs1.data());
  dropout_forward(steps.data(), steps.size(), 0.5f, 77, k2.data());
  for (size_t i = 0; i < steps.size(); ++i) steps[i] += Res[i];
  layer_norm_forward(steps.data(), n, d, g.data(), b.data(), 1e-12f, steps.data(), xh2.data(), rs2.data());
  EXPECT_EQ(k1, k2);
  EXPECT_EQ(fused, steps);
}

// dgamma and dbeta are summed in fixed blocks of rows: the same bits with 1 or 2 threads.
TEST(KernelGrad, LayerNormParameterGradientsIndependentOfThreads) {
  const int n = 1000, d = 16;
  const auto X = random_vec(n * d, 35, 2.0f), g = random_vec(d, 36), b = random_vec(d, 37), R = random_vec(n * d, 38);
  std::vector<float> Y(n * d), xhat(n * d), rstd(n), dX(n * d);
  layer_norm_forward(X.data(), n, d, g.data(), b.data(), 1e-12f, Y.data(), xhat.data(), rstd.data());
  std::vector<std::vector<float>> dg(2, std::vector<float>(d, 0.0f)), db = dg;
  const int threads = omp_get_max_threads();
  for (int t = 1; t <= 2; ++t) {
    omp_set_num_threads(t);
    layer_norm_backward(R.data(), xhat.data(), rstd.data(), n, d, g.data(), dX.data(), dg[t - 1].data(),
                        db[t - 1].data());
  }
  omp_set_num_threads(threads);
  EXPECT_EQ(dg[0], dg[1]);
  EXPECT_EQ(db[0], db[1]);
}

class ActivationGrad : public ::testing::TestWithParam<Activation> {};

TEST_P(ActivationGrad, MatchesFiniteDifferences) {
  const size_t n = 40;
  auto X = random_vec(n, 21, 1.5f), R = random_vec(n, 22);
  std::vector<float> Y(n), dX(n);
  auto loss = [&] {
    activation_forward(GetParam(), X.data(), Y.data(), n);
    return dot(Y, R);
  };
  loss();
  activation_backward(GetParam(), X.data(), Y.data(), R.data(), dX.data(), n);
  // relu's kink: keep inputs away from 0
  if (GetParam() == Activation::Relu)
    for (auto& x : X)
      if (std::fabs(x) < 0.05f) x = 0.5f;
  loss();
  activation_backward(GetParam(), X.data(), Y.data(), R.data(), dX.data(), n);
  expect_grad_close(activation_name(GetParam()), X, dX, loss, 1e-3f);
}

INSTANTIATE_TEST_SUITE_P(All, ActivationGrad,
                         ::testing::Values(Activation::Gelu, Activation::Relu, Activation::Swish, Activation::Tanh,
                                           Activation::Sigmoid));

TEST(KernelGrad, GeluIsErfForm) {
  const float x = 0.7f;
  float y;
  activation_forward(Activation::Gelu, &x, &y, 1);
  EXPECT_NEAR(y, 0.7 * 0.5 * (1.0 + std::erf(0.7 / std::sqrt(2.0))), 1e-7);
}

TEST(KernelGrad, DropoutMaskIsDeterministicAndScaled) {
  const size_t n = 20000;
  std::vector<float> X(n, 1.0f), X2(n, 1.0f);
  std::vector<uint8_t> keep(n), keep2(n);
  dropout_forward(X.data(), n, 0.3f, 42, keep.data());
  dropout_forward(X2.data(), n, 0.3f, 42, keep2.data());
  EXPECT_EQ(keep, keep2);
  const double kept = std::accumulate(keep.begin(), keep.end(), 0.0) / n;
  EXPECT_NEAR(kept, 0.7, 0.015);
  for (size_t i = 0; i < n; ++i) EXPECT_FLOAT_EQ(X[i], keep[i] ? 1.0f / 0.7f : 0.0f);
  std::vector<float> dX(n, 1.0f);
  dropout_backward(dX.data(), n, 0.3f, keep.data());
  EXPECT_EQ(dX, X);
}

TEST(KernelGrad, EmbeddingScattersAndFreezesRowZero) {
  const int T = 5, d = 3, V = 4, L = 6;
  std::vector<int> tok{1, 0, 3, 1, 2}, pos{5, 4, 5, 3, 5};
  auto E = random_vec(V * d, 31), P = random_vec(L * d, 32), R = random_vec(T * d, 33);
  std::vector<float> X(T * d);
  auto loss = [&] {
    embedding_forward(tok.data(), pos.data(), T, d, E.data(), P.data(), X.data());
    return dot(X, R);
  };
  loss();
  RowSparseGrad gE;
  gE.init(V, d);
  std::vector<float> dE(V * d), dP(L * d, 0.0f);
  embedding_backward(tok.data(), pos.data(), T, d, R.data(), gE, dP.data());
  gE.to_dense(dE.data());
  EXPECT_EQ(gE.rows(), (std::vector<int>{1, 3, 2})) << "touched rows in first-touch order, row 0 skipped";
  for (int j = 0; j < d; ++j) EXPECT_EQ(dE[j], 0.0f) << "row 0 (padding) must not receive gradient";
  for (int j = 0; j < d; ++j) {
    EXPECT_FLOAT_EQ(dE[1 * d + j], R[0 * d + j] + R[3 * d + j]);
    EXPECT_FLOAT_EQ(dE[2 * d + j], R[4 * d + j]);
    EXPECT_FLOAT_EQ(dE[3 * d + j], R[2 * d + j]);
  }
  // rows 1-3 against finite differences (row 0 is frozen by design, so its numeric gradient is not 0)
  std::vector<float> E13(E.begin() + d, E.end()), dE13(dE.begin() + d, dE.end());
  auto loss13 = [&] {
    std::copy(E13.begin(), E13.end(), E.begin() + d);
    return loss();
  };
  expect_grad_close("dE rows 1-3", E13, dE13, loss13);
  expect_grad_close("dP", P, dP, loss);
}

TEST(KernelGrad, RowSparseGradSumsInCallOrderAndDensifies) {
  const int d = 3;
  RowSparseGrad g;
  g.init(6, d);
  const std::vector<float> X{1, 2, 3, 10, 20, 30, 100, 200, 300};
  const std::vector<int> idx{4, 0, 4};
  g.scatter_add(X.data(), idx.data(), 3, /*skip_zero=*/true);
  EXPECT_EQ(g.rows(), (std::vector<int>{4}));
  EXPECT_EQ(g.row(0), nullptr);
  EXPECT_EQ(g.row(4)[2], 303.0f);
  const std::vector<int> idx2{1, 4, 0};
  g.scatter_add(X.data(), idx2.data(), 3, /*skip_zero=*/false);
  EXPECT_EQ(g.rows(), (std::vector<int>{4, 1, 0}));
  EXPECT_EQ(g.row(4)[0], 111.0f);
  EXPECT_EQ(g.row(0)[1], 200.0f);
  float* D = g.make_dense();  // keeps what was accumulated
  EXPECT_EQ(g.size(), 6u);
  EXPECT_EQ(D[4 * d + 0], 111.0f);
  EXPECT_EQ(D[1 * d + 2], 3.0f);
  EXPECT_EQ(D[5 * d + 1], 0.0f);
  g.clear();
  EXPECT_EQ(g.size(), 0u);
  EXPECT_EQ(g.row(4), nullptr);
}

TEST(KernelGrad, RowSparseGradMatchesDenseScatterOverManyRows) {
  const int R = 100000, d = 4, n = 6000;  // enough rows to grow its hash table several times
  Rng rng(8);
  std::vector<int> idx(n);
  for (int& i : idx) i = int(rng.uniform_int(0, R - 1));
  const auto X = random_vec(size_t(n) * d, 9);
  RowSparseGrad g;
  g.init(R, d);
  for (int round = 0; round < 3; ++round) {  // reused after clear()
    g.scatter_add(X.data(), idx.data(), n / 2, true);
    g.scatter_add(X.data() + size_t(n / 2) * d, idx.data() + n / 2, n - n / 2, true);
    std::vector<float> dense(size_t(R) * d, 0.0f), want(size_t(R) * d, 0.0f);
    scatter_add_rows(X.data(), idx.data(), n, d, want.data(), true);
    g.to_dense(dense.data());
    ASSERT_EQ(dense, want) << "round " << round;
    std::vector<int> distinct(idx);
    distinct.erase(std::remove(distinct.begin(), distinct.end(), 0), distinct.end());
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    ASSERT_EQ(g.size(), distinct.size());
    g.clear();
    for (int i : idx) ASSERT_EQ(g.row(i), nullptr);
  }
}

TEST(KernelGrad, ScatterAddRowsAccumulatesRepeats) {
  const int d = 5;
  std::vector<float> X{1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 4, 4, 4, 4, 4};
  std::vector<int> idx{2, 0, 2};
  std::vector<float> Y(3 * d, 0.0f);
  scatter_add_rows(X.data(), idx.data(), 3, d, Y.data(), false);
  for (int j = 0; j < d; ++j) {
    EXPECT_EQ(Y[0 * d + j], 2.0f);
    EXPECT_EQ(Y[1 * d + j], 0.0f);
    EXPECT_EQ(Y[2 * d + j], 5.0f);
  }
}

namespace {

// Three sequences (lengths 4, 1, 3 unless given); queries either every token or the last token of each.
struct AttnCase {
  std::vector<int> koff{0, 4, 5, 8}, qoff, qpos;
  AttnCase() = default;
  explicit AttnCase(std::vector<int> offsets) : koff(std::move(offsets)) {}
  std::vector<size_t> poff;
  AttnLayout layout(bool causal, bool last_only, int heads) {
    qoff.assign(1, 0);
    qpos.clear();
    poff.assign(1, 0);
    for (int b = 0; b < 3; ++b) {
      const int n = koff[b + 1] - koff[b];
      for (int i = last_only ? n - 1 : 0; i < n; ++i) qpos.push_back(i);
      qoff.push_back(int(qpos.size()));
      poff.push_back(poff.back() + size_t(heads) * (qoff[b + 1] - qoff[b]) * n);
    }
    return {3, koff.data(), qoff.data(), qpos.data(), poff.data(), causal};
  }
};

void attention_gradcheck(bool causal, bool last_only, float p_drop, int d = 8, int H = 2, AttnCase c = {}) {
  const int T = c.koff.back();
  const AttnLayout L = c.layout(causal, last_only, H);
  const int Tq = c.qoff.back();
  auto Q = random_vec(Tq * d, 41), KV = random_vec(T * 2 * d, 42), R = random_vec(Tq * d, 43);
  std::vector<float> probs(c.poff.back()), ctx(Tq * d);
  std::vector<uint8_t> keep(c.poff.back());
  auto loss = [&] {
    attention_forward(L, Q.data(), d, KV.data(), KV.data() + d, 2 * d, d, H, p_drop, 7, probs.data(), keep.data(),
                      ctx.data());
    return dot(ctx, R);
  };
  loss();
  std::vector<float> dQ(Tq * d), dKV(T * 2 * d, 0.0f);
  attention_backward(L, Q.data(), d, KV.data(), KV.data() + d, 2 * d, d, H, p_drop, probs.data(), keep.data(),
                     R.data(), dQ.data(), d, dKV.data(), dKV.data() + d, 2 * d);
  expect_grad_close("dQ", Q, dQ, loss);
  expect_grad_close("dKV", KV, dKV, loss, 1e-2f, 4e-3, 4e-4, 200);
}

}  // namespace

TEST(KernelGrad, AttentionBidirectional) { attention_gradcheck(false, false, 0.0f); }
TEST(KernelGrad, AttentionCausal) { attention_gradcheck(true, false, 0.0f); }
TEST(KernelGrad, AttentionLastQueryOnly) { attention_gradcheck(false, true, 0.0f); }
TEST(KernelGrad, AttentionCausalLastQueryOnly) { attention_gradcheck(true, true, 0.0f); }
TEST(KernelGrad, AttentionWithDropout) { attention_gradcheck(false, false, 0.3f); }
// Head sizes 32 and 64 take the kernels' fixed-size paths; sequences longer than one
// block of 8 keys exercise the key padding.
TEST(KernelGrad, AttentionHeadSize32LongSequences) {
  attention_gradcheck(false, false, 0.3f, 64, 2, AttnCase({0, 11, 12, 21}));
  attention_gradcheck(true, false, 0.0f, 64, 2, AttnCase({0, 11, 12, 21}));
  attention_gradcheck(false, true, 0.0f, 64, 2, AttnCase({0, 11, 12, 21}));
}
TEST(KernelGrad, AttentionHeadSize64) {
  attention_gradcheck(true, false, 0.3f, 64, 1, AttnCase({0, 9, 10, 13}));
  attention_gradcheck(false, false, 0.0f, 64, 1, AttnCase({0, 9, 10, 13}));
}

TEST(KernelGrad, CausalAttentionIgnoresFutureKeys) {
  const int d = 4, H = 1, T = 8;
  AttnCase c;
  const AttnLayout L = c.layout(true, false, H);
  auto Q = random_vec(T * d, 51), KV = random_vec(T * 2 * d, 52);
  std::vector<float> probs(c.poff.back()), ctx1(T * d), ctx2(T * d);
  std::vector<uint8_t> keep(c.poff.back());
  attention_forward(L, Q.data(), d, KV.data(), KV.data() + d, 2 * d, d, H, 0.0f, 0, probs.data(), keep.data(),
                    ctx1.data());
  for (int j = 0; j < 2 * d; ++j) KV[3 * 2 * d + j] += 5.0f;  // last token of sequence 0
  attention_forward(L, Q.data(), d, KV.data(), KV.data() + d, 2 * d, d, H, 0.0f, 0, probs.data(), keep.data(),
                    ctx2.data());
  for (int t = 0; t < 3; ++t)
    for (int j = 0; j < d; ++j) EXPECT_EQ(ctx1[t * d + j], ctx2[t * d + j]) << "token " << t;
  EXPECT_NE(ctx1[3 * d], ctx2[3 * d]);
}

namespace {

// (f(x), f'(x)) of an activation from its definition, in double.
std::pair<double, double> activation_in_double(Activation a, double x) {
  const double s = 1.0 / (1.0 + std::exp(-x));
  switch (a) {
    case Activation::Gelu: {
      const double cdf = 0.5 * (1.0 + std::erf(x / std::sqrt(2.0)));
      return {x * cdf, cdf + x * std::exp(-0.5 * x * x) / std::sqrt(2.0 * std::numbers::pi)};
    }
    case Activation::Relu:
      return {x > 0 ? x : 0.0, x > 0 ? 1.0 : 0.0};
    case Activation::Swish:
      return {x * s, s + x * s * (1.0 - s)};
    case Activation::Tanh:
      return {std::tanh(x), 1.0 - std::tanh(x) * std::tanh(x)};
    case Activation::Sigmoid:
      return {s, s * (1.0 - s)};
  }
  return {0.0, 0.0};
}

}  // namespace

// Logits far beyond exp's range (they occur late in AAP/MAP training) stay finite in the
// vectorised fast-math kernels, and agree with the scalar definition: this produced NaN
// gradients in Beauty pre-training (epoch 7) before exp's argument was capped.
TEST(KernelGrad, ExtremeLogitsStayFinite) {
  std::vector<float> s;
  for (float v : {-1e4f, -1000.f, -200.f, -104.f, -89.f, -88.5f, -88.f, -50.f, -20.f, -1.f, 0.f, 1.f, 20.f, 50.f,
                  88.f, 89.f, 200.f, 1e4f})
    s.push_back(v);
  const std::vector<float> x = s;
  std::vector<float> g = s;
  const double loss = sigmoid_bce_negatives(g.data(), int(g.size()), 1.0f);
  EXPECT_TRUE(std::isfinite(loss));
  double expect = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_TRUE(std::isfinite(g[i])) << "logit " << x[i];
    // float arithmetic, as PyTorch's float32 BCELoss: p rounds to 1 for logits above ~17
    const float p = 1.0f / (1.0f + std::exp(-x[i]));
    expect += -std::max(std::log(1.0f - p), -100.0f);
    // torch: (p - 0) / max(p(1-p), 1e-12) * p(1-p) = p where p(1-p) >= 1e-12, else ~0
    EXPECT_NEAR(g[i], p * (1 - p) >= 1e-12f ? p : 0.0f, 1e-6) << "logit " << x[i];
  }
  EXPECT_NEAR(loss, expect, 1e-3 * expect);
  for (Activation a : {Activation::Gelu, Activation::Relu, Activation::Swish, Activation::Tanh, Activation::Sigmoid}) {
    std::vector<float> y(x.size()), dx(x.size()), dy(x.size(), 1.0f);
    activation_forward(a, x.data(), y.data(), x.size());
    activation_backward(a, x.data(), y.data(), dy.data(), dx.data(), x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_TRUE(std::isfinite(y[i])) << activation_name(a) << " " << x[i];
      EXPECT_TRUE(std::isfinite(dx[i])) << activation_name(a) << " " << x[i];
      // and the values are right, not only finite: the definition in double
      const auto [want_y, want_dx] = activation_in_double(a, x[i]);
      EXPECT_NEAR(y[i], want_y, 1e-6 + 1e-5 * std::fabs(want_y)) << activation_name(a) << "(" << x[i] << ")";
      EXPECT_NEAR(dx[i], want_dx, 1e-6 + 1e-5 * std::fabs(want_dx)) << activation_name(a) << "'(" << x[i] << ")";
    }
  }
  // the limits at +-1e4, written out: (activation, x, value, derivative)
  const struct {
    Activation a;
    float x, y, dx;
  } limits[] = {
      {Activation::Relu, 1e4f, 1e4f, 1.0f},    {Activation::Relu, -1e4f, 0.0f, 0.0f},
      {Activation::Tanh, 1e4f, 1.0f, 0.0f},    {Activation::Tanh, -1e4f, -1.0f, 0.0f},
      {Activation::Sigmoid, 1e4f, 1.0f, 0.0f}, {Activation::Sigmoid, -1e4f, 0.0f, 0.0f},
      {Activation::Gelu, 1e4f, 1e4f, 1.0f},    {Activation::Gelu, -1e4f, 0.0f, 0.0f},
      {Activation::Swish, 1e4f, 1e4f, 1.0f},   {Activation::Swish, -1e4f, 0.0f, 0.0f},
  };
  for (const auto& l : limits) {
    float y = 0, dx = 0;
    const float dy = 1.0f;
    activation_forward(l.a, &l.x, &y, 1);
    activation_backward(l.a, &l.x, &y, &dy, &dx, 1);
    EXPECT_NEAR(y, l.y, 1e-30) << activation_name(l.a) << "(" << l.x << ")";
    EXPECT_NEAR(dx, l.dx, 1e-30) << activation_name(l.a) << "'(" << l.x << ")";
  }
}
