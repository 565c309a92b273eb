// What OpenBLAS's sgemm achieves on this machine: the measured ceiling for the
// model's matrix products. Square 1024^3 (C = A B) gives the attainable peak;
// the thin shapes are the pre-training step's: Q|K|V of a packed batch
// ([5700 x 64] x [64 x 192], C = X W^T) and its weight gradient
// ([192 x 5700] x [5700 x 64], dW = dY^T X).
// Arguments: m, n, k, transposes (0 = nn, 1 = nt, 2 = tn), threads.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <vector>

#include "s3rec/rng.h"
#include "tensor/gemm.h"

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

}  // namespace

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
