// The unpacked register kernels of the thin products (tensor/thin_gemm.h) against a
// double-precision reference: every shape of the step plus ragged tails (rows not a
// multiple of the 12-row tile, columns not a multiple of 16, odd inner sizes), bias,
// accumulation, the epilogue, and the weight gradient's independence of the thread count.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "s3rec/rng.h"
#include "tensor/thin_gemm.h"

using namespace s3rec;

namespace {

std::vector<float> random_vec(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (float& x : v) x = float(rng.uniform()) * 2.0f - 1.0f;
  return v;
}

// max |got - want| / max(1, |want|)
double rel_error(const std::vector<float>& got, const std::vector<double>& want) {
  double e = 0;
  for (size_t i = 0; i < got.size(); ++i) e = std::max(e, std::fabs(got[i] - want[i]) / std::max(1.0, std::fabs(want[i])));
  return e;
}

struct Shape {
  int M, N, K;
};
const Shape kShapes[] = {{1, 1, 1}, {13, 17, 3}, {37, 45, 19}, {200, 64, 64}, {97, 192, 64}, {250, 33, 256}, {25, 638, 64}};

// C = A op(B) + bias (+ C0 when accumulate); op(B) = B [K x N] or B^T with B [N x K]
std::vector<double> reference_nn(const Shape& s, const std::vector<float>& A, const std::vector<float>& B, bool bt,
                                 const std::vector<float>& bias, const std::vector<float>& C0, bool accumulate) {
  std::vector<double> C(size_t(s.M) * s.N);
  for (int i = 0; i < s.M; ++i)
    for (int j = 0; j < s.N; ++j) {
      double acc = bias[j] + (accumulate ? C0[size_t(i) * s.N + j] : 0.0);
      for (int k = 0; k < s.K; ++k)
        acc += double(A[size_t(i) * s.K + k]) * (bt ? B[size_t(j) * s.K + k] : B[size_t(k) * s.N + j]);
      C[size_t(i) * s.N + j] = acc;
    }
  return C;
}

class ThinGemm : public ::testing::TestWithParam<MatmulPrecision> {
 protected:
  void SetUp() override {
    if (GetParam() == MatmulPrecision::BF16 && !bf16_supported()) GTEST_SKIP() << "no AVX512_BF16 on this CPU";
    set_matmul_precision(GetParam());
  }
  void TearDown() override { set_matmul_precision(MatmulPrecision::FP32); }
  // fp32: summation order only; bf16: operands rounded to 8 significant bits, fp32 sums
  double tolerance() const { return GetParam() == MatmulPrecision::FP32 ? 2e-6 : 4e-3; }
};

TEST_P(ThinGemm, ProductMatchesReferenceWithBiasAccumulationAndTails) {
  uint64_t seed = 1;
  for (const Shape& s : kShapes)
    for (bool bt : {false, true})
      for (bool accumulate : {false, true}) {
        const auto A = random_vec(size_t(s.M) * s.K, ++seed), B = random_vec(size_t(s.K) * s.N, ++seed);
        const auto bias = random_vec(s.N, ++seed), C0 = random_vec(size_t(s.M) * s.N, ++seed);
        std::vector<float> C = C0;
        thin_nn(s.M, s.N, s.K, A.data(), s.K, B.data(), bt ? s.K : s.N, bt, bias.data(), accumulate, C.data(), s.N);
        const double e = rel_error(C, reference_nn(s, A, B, bt, bias, C0, accumulate));
        EXPECT_LE(e, tolerance() * std::sqrt(double(s.K))) << s.M << "x" << s.N << "x" << s.K << " bt=" << bt
                                                          << " accumulate=" << accumulate;
      }
}

TEST_P(ThinGemm, WeightGradientMatchesReferenceAndIgnoresThreadCount) {
  const int threads = omp_get_max_threads();
  uint64_t seed = 50;
  for (const Shape& s : kShapes) {
    // dW[N x K] += dY[M x N]^T X[M x K]; db += colsum(dY)
    const auto dY = random_vec(size_t(s.M) * s.N, ++seed), X = random_vec(size_t(s.M) * s.K, ++seed);
    const auto W0 = random_vec(size_t(s.N) * s.K, ++seed), b0 = random_vec(s.N, ++seed);
    std::vector<double> want(W0.begin(), W0.end()), want_b(b0.begin(), b0.end());
    for (int r = 0; r < s.M; ++r)
      for (int n = 0; n < s.N; ++n) {
        want_b[n] += dY[size_t(r) * s.N + n];
        for (int k = 0; k < s.K; ++k) want[size_t(n) * s.K + k] += double(dY[size_t(r) * s.N + n]) * X[size_t(r) * s.K + k];
      }
    std::vector<std::vector<float>> got, got_b;
    for (int t : {1, 2, 3}) {
      omp_set_num_threads(t);
      std::vector<float> dW = W0, db = b0;
      thin_tn(s.M, s.N, s.K, dY.data(), s.N, X.data(), s.K, dW.data(), s.K, db.data());
      got.push_back(dW);
      got_b.push_back(db);
    }
    omp_set_num_threads(threads);
    EXPECT_LE(rel_error(got[0], want), tolerance() * std::sqrt(double(s.M))) << s.M << "x" << s.N << "x" << s.K;
    EXPECT_LE(rel_error(got_b[0], want_b), 1e-5) << "the bias gradient is summed in fp32";
    EXPECT_EQ(got[0], got[1]) << "1 and 2 threads";
    EXPECT_EQ(got[0], got[2]) << "1 and 3 threads";
    EXPECT_EQ(got_b[0], got_b[2]);
  }
}

TEST_P(ThinGemm, EpilogueSeesEveryRowOnceAfterItsProduct) {
  const Shape s{301, 40, 24};
  const auto A = random_vec(size_t(s.M) * s.K, 7), B = random_vec(size_t(s.N) * s.K, 8);
  std::vector<float> C(size_t(s.M) * s.N), first(s.M, 0.0f);
  std::vector<int> seen(s.M, 0);
  thin_nn(s.M, s.N, s.K, A.data(), s.K, B.data(), s.K, true, nullptr, false, C.data(), s.N, [&](int r0, int r1) {
    for (int r = r0; r < r1; ++r) {
      ++seen[r];
      first[r] = C[size_t(r) * s.N];
    }
  });
  const std::vector<float> zeros(s.N, 0.0f);
  const auto want = reference_nn(s, A, B, true, zeros, C, false);
  for (int r = 0; r < s.M; ++r) {
    EXPECT_EQ(seen[r], 1) << "row " << r;
    EXPECT_NEAR(first[r], want[size_t(r) * s.N], tolerance() * 5) << "row " << r << " was not final yet";
  }
}

INSTANTIATE_TEST_SUITE_P(Precisions, ThinGemm, ::testing::Values(MatmulPrecision::FP32, MatmulPrecision::BF16),
                         [](const auto& info) { return info.param == MatmulPrecision::FP32 ? "FP32" : "BF16"; });

// Few rows read a transposed weight in place by gathers (no transposed copy): the same FMA
// chain, so the same bits as the copied form, for every tail of rows, columns and inner size
// and a weight with a leading dimension wider than K.
TEST(ThinGemmGathered, FewRowsGiveTheCopiedFormsBitsWithoutCopyingTheWeight) {
  if (!thin_kernels_available()) GTEST_SKIP() << "no AVX-512: OpenBLAS does these products";
  set_matmul_precision(MatmulPrecision::FP32);
  for (int M : {1, 5, 12, 13, 40, 64})
    for (int N : {1, 16, 17, 32, 45, 192})
      for (int K : {1, 7, 64}) {
        const int ldb = K + 3;
        const auto A = random_vec(size_t(M) * K, 1), W = random_vec(size_t(N) * ldb, 2), bias = random_vec(size_t(N), 3),
                   C0 = random_vec(size_t(M) * N, 4);
        for (bool accumulate : {false, true}) {
          std::vector<float> copied = C0, gathered = C0;
          const SmallOperand by_copy(K, N, W.data(), ldb, true);      // rows unknown: transposed copy
          const SmallOperand by_gather(K, N, W.data(), ldb, true, M);  // few rows: gathers
          ASSERT_FALSE(by_copy.gathered());
          ASSERT_TRUE(by_gather.gathered());
          by_copy.multiply_rows(0, M, A.data(), K, bias.data(), accumulate, copied.data(), N);
          by_gather.multiply_rows(0, M, A.data(), K, bias.data(), accumulate, gathered.data(), N);
          ASSERT_EQ(std::memcmp(copied.data(), gathered.data(), copied.size() * sizeof(float)), 0)
              << "M " << M << " N " << N << " K " << K << " accumulate " << accumulate;
          // and both are the product: W's padding columns (k >= K) never enter it
          std::vector<float> Wk(size_t(N) * K);
          for (int n = 0; n < N; ++n)
            for (int k = 0; k < K; ++k) Wk[size_t(n) * K + k] = W[size_t(n) * ldb + k];
          EXPECT_LT(rel_error(gathered, reference_nn({M, N, K}, A, Wk, true, bias, C0, accumulate)), 2e-6);
        }
      }
}

TEST(ThinGemmBf16, RoundsOperandsToBfloat16AndSumsInFp32) {
  if (!bf16_supported()) GTEST_SKIP() << "no AVX512_BF16 on this CPU";
  // 1 + 2^-9 is not a bfloat16 (8 significant bits): it rounds to 1 (ties to even);
  // 1 + 2^-7 is one. Sums of 64 such products show whether the operands were rounded
  // (and the sums kept in fp32, where 64 + 64 * 2^-7 is exact).
  const int K = 64;
  std::vector<float> a(K, 1.0f + 1.0f / 512), b(K, 1.0f), a2(K, 1.0f + 1.0f / 128);
  float c = 0, c2 = 0;
  set_matmul_precision(MatmulPrecision::BF16);
  thin_nn(1, 1, K, a.data(), K, b.data(), 1, false, nullptr, false, &c, 1);
  thin_nn(1, 1, K, a2.data(), K, b.data(), 1, false, nullptr, false, &c2, 1);
  set_matmul_precision(MatmulPrecision::FP32);
  EXPECT_EQ(c, 64.0f);
  EXPECT_EQ(c2, 64.0f + 0.5f);
  float f = 0;
  thin_nn(1, 1, K, a.data(), K, b.data(), 1, false, nullptr, false, &f, 1);
  EXPECT_EQ(f, 64.0f + 0.125f) << "fp32 keeps the operands";
}

TEST(ThinGemmBf16, RefusedWithAClearMessageWithoutCpuSupport) {
  ::setenv("S3REC_DISABLE_BF16", "1", 1);
  EXPECT_FALSE(bf16_supported());
  try {
    set_matmul_precision(MatmulPrecision::BF16);
    ADD_FAILURE() << "bf16 accepted on a CPU reported without AVX512_BF16";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("AVX512_BF16"), std::string::npos) << e.what();
  }
  ::unsetenv("S3REC_DISABLE_BF16");
  EXPECT_EQ(matmul_precision(), MatmulPrecision::FP32) << "a refusal leaves the precision as it was";
  EXPECT_THROW(parse_matmul_precision("fp16"), std::invalid_argument);
  EXPECT_EQ(parse_matmul_precision("bf16"), MatmulPrecision::BF16);
}

}  // namespace
