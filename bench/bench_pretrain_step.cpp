// One pre-training step (forward, backward, Adam) on a Beauty-like batch:
// 200 samples whose lengths follow Beauty's prefix-length distribution,
// d = 64, 12,103 item rows, 638 attribute rows, default objective weights.
//
// Useful work counted (GFLOP/s): the matrix products of the model, forward
// plus backward (backward = 2x forward): per layer Q (2 Tq d^2), K|V (4 T d^2),
// attention (4 nq nk d per sequence), output projection (2 Tq d^2), feed-forward
// (4 Tq d inner); heads AAP/MAP (2 n d^2 + 2 n d A1), MIP (2 m d^2 + 4 m d),
// SP (2 B d^2 + 4 B d). Element-wise work (layer norm, activations, softmax, Adam) is not counted.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <array>

#include "s3rec/model.h"
#include "s3rec/optimizer.h"
#include "s3rec/rng.h"
#include "tensor/thin_gemm.h"

using namespace s3rec;

namespace {

// Number of Beauty pre-training samples of each length 1..50 (prefixes of the training parts).
constexpr std::array<int, 50> kBeautyPrefixLengths = {
    22363, 22363, 22363, 15201, 10980, 8300, 6489, 5123, 4242, 3547, 2989, 2550, 2189, 1927, 1720, 1507, 1366,
    1248,  1136,  1019,  935,   869,   796,  722,  661,  607,  563,  519,  481,  451,  413,  393,  374,  353,
    334,   311,   287,   265,   250,   233,  226,  216,  206,  191,  184,  173,  165,  161,  153,  144};

int draw_length(Rng& rng) {
  long total = 0;
  for (int c : kBeautyPrefixLengths) total += c;
  long r = rng.uniform_int(0, total - 1);
  for (int i = 0; i < 50; ++i) {
    if (r < kBeautyPrefixLengths[i]) return i + 1;
    r -= kBeautyPrefixLengths[i];
  }
  return 50;
}

PretrainBatch beauty_like_batch(const ModelConfig& c, int B, uint64_t seed) {
  Rng rng(seed);
  PretrainBatch b;
  const int M = c.mask_id();
  for (int s = 0; s < B; ++s) {
    const int L = draw_length(rng);
    std::vector<int> seq(L), masked(L), neg(L, 0);
    for (int& x : seq) x = int(rng.uniform_int(1, c.n_items));
    for (int i = 0; i < L; ++i) {
      const bool m = i == L - 1 || rng.uniform() < 0.2;
      masked[i] = m ? M : seq[i];
      if (m) neg[i] = int(rng.uniform_int(1, c.n_items));
    }
    b.masked.add(masked);
    b.pos_items.insert(b.pos_items.end(), seq.begin(), seq.end());
    b.neg_items.insert(b.neg_items.end(), neg.begin(), neg.end());
    std::vector<int> ctx = seq, ps(L, M), ns(L, M);
    if (L >= 2) {
      const int k = int(rng.uniform_int(1, L / 2)), j = int(rng.uniform_int(0, L - k));
      for (int i = j; i < j + k; ++i) {
        ctx[i] = M;
        ps[i] = seq[i];
        ns[i] = int(rng.uniform_int(1, c.n_items));
      }
    } else {
      ps = ns = seq;
    }
    b.context.add(ctx);
    b.pos_segment.add(ps);
    b.neg_segment.add(ns);
  }
  return b;
}

double useful_flops(const ModelConfig& c, const PretrainBatch& b) {
  const double d = c.hidden_size, inner = c.inner_size, A1 = c.attribute_rows();
  const int B = b.masked.num_seqs();
  double T = 0, Tq_last = 0, attn_all = 0, attn_last = 0;
  for (int s = 0; s < B; ++s) {
    const double n = b.masked.length(s);
    T += 4 * n;
    Tq_last += n + 3;
    attn_all += 4 * n * n;
    attn_last += n * n + 3 * n;
  }
  double fwd = 0;
  for (int l = 0; l < c.n_layers; ++l) {
    const bool last = l == c.n_layers - 1;
    const double Tq = last ? Tq_last : T;
    fwd += 2 * Tq * d * d + 4 * T * d * d + 4 * (last ? attn_last : attn_all) * d + 2 * Tq * d * d + 4 * Tq * d * inner;
  }
  double masked = 0;
  for (int it : b.masked.items) masked += it == c.mask_id();
  const double n_attr = b.masked.num_tokens();
  fwd += 2 * n_attr * d * d + 2 * n_attr * d * A1 + 2 * masked * d * d + 4 * masked * d + 2 * B * d * d + 4 * B * d;
  return 3 * fwd;
}

void BM_PretrainStep(benchmark::State& state) {
  omp_set_num_threads(int(state.range(0)));
  const bool bf16 = state.range(1) == 1;
  if (bf16 && !bf16_supported()) {
    state.SkipWithError("no AVX512_BF16 on this CPU");
    return;
  }
  set_matmul_precision(bf16 ? MatmulPrecision::BF16 : MatmulPrecision::FP32);
  ModelConfig c;
  c.n_items = 12101;
  c.n_attributes = 637;
  S3RecModel model(c);
  model.init_weights(1);
  std::vector<std::vector<int>> lists(c.n_items + 1);
  Rng rng(3);
  for (int i = 1; i <= c.n_items; ++i)
    for (int k = int(rng.uniform_int(1, 6)); k > 0; --k) lists[i].push_back(int(rng.uniform_int(1, c.n_attributes)));
  const AttributeTable attrs = AttributeTable::from_lists(lists, c.item_rows());
  Optimizer adam(model.params(), AdamConfig{});
  const PretrainWeights w;  // 0.2, 1.0, 1.0, 0.5
  std::vector<PretrainBatch> batches;
  for (int i = 0; i < 8; ++i) batches.push_back(beauty_like_batch(c, 200, 100 + i));
  double flops = 0;
  size_t step = 0;
  for (auto _ : state) {
    const PretrainBatch& b = batches[step % batches.size()];
    adam.prepare_rows(model.item_embeddings_id(), item_rows(b));
    auto l = model.pretrain_step(b, attrs, w, true, step);
    adam.step();
    benchmark::DoNotOptimize(l);
    flops += useful_flops(c, b);
    ++step;
  }
  state.counters["samples/s"] = benchmark::Counter(double(step) * 200, benchmark::Counter::kIsRate);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsRate);
  state.counters["GFLOP/step"] = flops * 1e-9 / double(step);
  set_matmul_precision(MatmulPrecision::FP32);
}

}  // namespace

// arguments: threads, precision (0 = fp32, 1 = bf16)
BENCHMARK(BM_PretrainStep)->ArgNames({"threads", "bf16"})->Args({1, 0})->Args({2, 0})->Args({1, 1})->Args({2, 1})->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(3.0);
BENCHMARK_MAIN();
