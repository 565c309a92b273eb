// What OpenBLAS's sgemm achieves on this machine: the measured ceiling for the
// model's matrix products. Square 1024^3 (C = A B) gives the attainable peak;
// the thin shapes are the pre-training step's: Q|K|V of a packed batch
// ([5700 x 64] x [64 x 192], C = X W^T) and its weight gradient
// ([192 x 5700] x [5700 x 64], dW = dY^T X).
// Arguments: m, n, k, transposes (0 = nn, 1 = nt, 2 = tn), threads.
//
// BM_StepProducts: each product shape of a pre-training step (packed batch of about 5,760
// tokens, d = 64, inner 256; the attribute head over about 1,440 rows x 638 attributes)
// through OpenBLAS (lib 0) against the project's unpacked register kernels
// (tensor/thin_gemm.h) in fp32 (lib 1) and bf16 (lib 2). Forms: 1 = C = A B^T (forward
// with a [out x in] weight), 0 = C = A B (input gradient), 2 = C += A^T B (weight gradient).
#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <omp.h>

#include <vector>

#include "s3rec/rng.h"
#include "tensor/gemm.h"
#include "tensor/thin_gemm.h"

namespace {

void BM_Sgemm(benchmark::State& state) {
  const int m = int(state.range(0)), n = int(state.range(1)), k = int(state.range(2));
  const int form = int(state.range(3));
  omp_set_num_threads(int(state.range(4)));
  const bool ta = form == 2, tb = form == 1;
  std::vector<float> A(size_t(m) * k), B(size_t(k) * n), C(size_t(m) * n);
  s3rec::Rng rng(1);
  for (float& x : A) x = float(rng.uniform()) - 0.5f;
  for (float& x : B) x = float(rng.uniform()) - 0.5f;
  const int lda = ta ? m : k, ldb = tb ? k : n;
  for (auto _ : state) {
    s3rec::gemm(ta, tb, m, n, k, 1.0f, A.data(), lda, B.data(), ldb, 0.0f, C.data(), n);
    benchmark::DoNotOptimize(C.data());
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * m * n * k * double(state.iterations()) * 1e-9, benchmark::Counter::kIsRate);
}

void BM_StepProducts(benchmark::State& state) {
  const int m = int(state.range(0)), n = int(state.range(1)), k = int(state.range(2));
  const int form = int(state.range(3)), lib = int(state.range(5));
  omp_set_num_threads(int(state.range(4)));
  if (lib == 2 && !s3rec::bf16_supported()) {
    state.SkipWithError("no AVX512_BF16 on this CPU");
    return;
  }
  if (lib > 0 && !s3rec::thin_kernels_available()) {
    state.SkipWithError("no AVX-512 on this CPU");
    return;
  }
  s3rec::set_matmul_precision(lib == 2 ? s3rec::MatmulPrecision::BF16 : s3rec::MatmulPrecision::FP32);
  // form 2: C[m x n] += A[k x m]^T B[k x n]; otherwise A is [m x k]
  std::vector<float> A(size_t(m) * k), B(size_t(k) * n), C(size_t(m) * n);
  s3rec::Rng rng(1);
  for (float& x : A) x = float(rng.uniform()) - 0.5f;
  for (float& x : B) x = float(rng.uniform()) - 0.5f;
  const bool ta = form == 2, tb = form == 1;
  const int lda = ta ? m : k, ldb = tb ? k : n;
  for (auto _ : state) {
    if (lib == 0)
      s3rec::gemm(ta, tb, m, n, k, 1.0f, A.data(), lda, B.data(), ldb, ta ? 1.0f : 0.0f, C.data(), n);
    else if (ta)
      s3rec::thin_tn(k, m, n, A.data(), m, B.data(), n, C.data(), n, nullptr);
    else
      s3rec::thin_nn(m, n, k, A.data(), lda, B.data(), ldb, tb, nullptr, false, C.data(), n);
    benchmark::DoNotOptimize(C.data());
  }
  s3rec::set_matmul_precision(s3rec::MatmulPrecision::FP32);
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * m * n * k * double(state.iterations()) * 1e-9, benchmark::Counter::kIsRate);
}

// The machine's arithmetic peak, measured: independent chains of 512-bit FMAs (fp32) or
// vdpbf16ps (bf16: 2 multiply-adds per 32-bit lane) on registers, one per thread.
// Arguments: threads, 0 = fp32 FMA, 1 = bf16 dot product.
__attribute__((target("avx512f,avx512bf16"))) double peak_kernel(bool bf16, long reps) {
  __m512 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(float(i) * 1e-3f);
  const __m512 x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(1e-4f);
  const __m512bh xb = _mm512_cvtne2ps_pbh(x, x), yb = _mm512_cvtne2ps_pbh(y, y);
  for (long r = 0; r < reps; ++r) {
    if (bf16) {
#pragma GCC unroll 12
      for (int i = 0; i < 12; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], xb, yb);
    } else {
#pragma GCC unroll 12
      for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
    }
  }
  float s = 0;
  for (int i = 0; i < 12; ++i) {
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, acc[i]);
    for (float v : lanes) s += v;
  }
  return s;
}

void BM_Peak(benchmark::State& state) {
  const int threads = int(state.range(0));
  const bool bf16 = state.range(1) == 1;
  if (!s3rec::thin_kernels_available() || (bf16 && !s3rec::bf16_supported())) {
    state.SkipWithError("instruction set not available");
    return;
  }
  constexpr long kReps = 1 << 20;
  double sink = 0;
  for (auto _ : state) {
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += peak_kernel(bf16, kReps);
  }
  benchmark::DoNotOptimize(sink);
  // 12 vectors x 16 lanes x 2 FLOP (x 2 for the bf16 pair) per repetition and thread
  const double flop = 12.0 * 16 * 2 * (bf16 ? 2 : 1) * kReps * threads;
  state.counters["GFLOP/s"] = benchmark::Counter(flop * double(state.iterations()) * 1e-9, benchmark::Counter::kIsRate);
}

void step_product_args(benchmark::internal::Benchmark* b) {
  const int shapes[][4] = {{5760, 192, 64, 1},  {5760, 256, 64, 1}, {5760, 64, 256, 1}, {5760, 64, 64, 1},
                           {5760, 64, 192, 0},  {5760, 64, 256, 0}, {5760, 256, 64, 0}, {192, 64, 5760, 2},
                           {256, 64, 5760, 2},  {64, 256, 5760, 2}, {64, 64, 5760, 2},  {1440, 638, 64, 1},
                           {1440, 64, 638, 0},  {638, 64, 1440, 2}};
  for (const auto& s : shapes)
    for (int threads : {1, 2})
      for (int lib : {0, 1, 2}) b->Args({s[0], s[1], s[2], s[3], threads, lib});
}

}  // namespace

BENCHMARK(BM_StepProducts)
    ->ArgNames({"m", "n", "k", "form", "threads", "lib"})
    ->Apply(step_product_args)
    ->UseRealTime()
    ->MinTime(0.3);

BENCHMARK(BM_Peak)->ArgNames({"threads", "bf16"})->Args({1, 0})->Args({2, 0})->Args({1, 1})->Args({2, 1})->UseRealTime();

BENCHMARK(BM_Sgemm)
    ->ArgNames({"m", "n", "k", "form", "threads"})
    ->Args({1024, 1024, 1024, 0, 1})
    ->Args({1024, 1024, 1024, 0, 2})
    ->Args({5700, 192, 64, 1, 1})
    ->Args({5700, 192, 64, 1, 2})
    ->Args({192, 64, 5700, 2, 1})
    ->Args({192, 64, 5700, 2, 2})
    ->UseRealTime()
    ->MinTime(1.0);
BENCHMARK_MAIN();
