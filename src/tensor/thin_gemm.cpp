#include "tensor/thin_gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <omp.h>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "tensor/gemm.h"

#define S3REC_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define S3REC_AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma,avx512bf16")))

namespace s3rec {
namespace {

MatmulPrecision g_precision = MatmulPrecision::FP32;

constexpr int kRowTile = 12;    // rows of C in one register tile (x 2 vectors of 16 columns)
constexpr int kRowBlock = 96;   // rows of C per task, and per epilogue call
constexpr int kInnerBlock = 256;  // inner-dimension chunk of the weight-gradient product (fits L1/L2)
// A product with at most this many rows reads a transposed weight by gathers instead of
// copying it transposed first (the copy, K x N elements, costs more than a few rows of
// product: serving's encoder, one short history at a time, spent 10% of its time there).
constexpr long kGatherRows = 64;

// Work below this many multiply-adds runs on the calling thread: a parallel region costs
// tens of microseconds on this project's virtual machines.
constexpr double kParallelMacs = 2e5;

// ---- register tiles: C[R x 16*NV] (+)= A[R x K] B[K x 16*NV] -------------------------------
// A element (i, k) sits at A[i * rs + k * ks]: row-major A (rs = lda, ks = 1) or the transpose
// of a row-major matrix (rs = 1, ks = ld), so the weight gradient needs no transposed copy.
// Masks m0, m1 select the valid columns of the two vectors.

// Accumulators of a tile start from the bias (or zero), plus C when accumulating.
template <int R, int NV>
[[gnu::always_inline]] S3REC_AVX512 inline void start_tile(__m512 (&c)[R][NV], const __mmask16* m, const float* bias,
                                                          bool acc, const float* C, long ldc) {
#pragma GCC unroll 2
  for (int v = 0; v < NV; ++v) {
    const __m512 b = bias ? _mm512_maskz_loadu_ps(m[v], bias + 16 * v) : _mm512_setzero_ps();
#pragma GCC unroll 12
    for (int r = 0; r < R; ++r)
      c[r][v] = acc ? _mm512_add_ps(b, _mm512_maskz_loadu_ps(m[v], C + r * ldc + 16 * v)) : b;
  }
}

template <int R, int NV>
[[gnu::always_inline]] S3REC_AVX512 inline void store_tile(const __m512 (&c)[R][NV], const __mmask16* m, float* C,
                                                          long ldc) {
#pragma GCC unroll 12
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) _mm512_mask_storeu_ps(C + r * ldc + 16 * v, m[v], c[r][v]);
}

// G (gathered): B is not op(B) [K x N] but its transpose as given, W [N x K] with leading
// dimension ldb (a weight in PyTorch's layout), read 16 columns at a time by gathers. The
// arithmetic is the same FMA chain, so both forms give the same bits; the gathered one
// needs no transposed copy of W, which costs more than the product when C has few rows.
template <int R, int NV, bool G = false>
S3REC_AVX512 void tile_f32(int K, const float* A, long rs, long ks, const float* B, long ldb, __mmask16 m0,
                           __mmask16 m1, const float* bias, bool acc, float* C, long ldc) {
  const __mmask16 m[2] = {m0, m1};
  __m512i idx[NV];  // G: offsets of W's rows j .. j + 16 NV - 1
  if constexpr (G) {
    const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v)
      idx[v] = _mm512_mullo_epi32(_mm512_add_epi32(lane, _mm512_set1_epi32(16 * v)), _mm512_set1_epi32(int(ldb)));
  }
  __m512 c[R][NV];
  start_tile<R, NV>(c, m, bias, acc, C, ldc);
  for (int k = 0; k < K; ++k) {
    __m512 b[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v)
      if constexpr (G)
        b[v] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m[v], idx[v], B + k, 4);
      else
        b[v] = _mm512_maskz_loadu_ps(m[v], B + k * ldb + 16 * v);
    const float* a = A + k * ks;
#pragma GCC unroll 12
    for (int r = 0; r < R; ++r) {
      const __m512 x = _mm512_set1_ps(a[r * rs]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) c[r][v] = _mm512_fmadd_ps(x, b[v], c[r][v]);
    }
  }
  store_tile<R, NV>(c, m, C, ldc);
}

// The same with bfloat16 pairs: A and B hold (k even, k odd) pairs in 32 bits, B in the
// "VNNI" layout [K/2 x N] of pairs; vdpbf16ps adds both products of a pair in fp32.
template <int R, int NV>
S3REC_AVX512_BF16 void tile_bf16(int KP, const uint32_t* A, long rs, long ks, const uint32_t* B, long ldb,
                                 __mmask16 m0, __mmask16 m1, const float* bias, bool acc, float* C, long ldc) {
  const __mmask16 m[2] = {m0, m1};
  __m512 c[R][NV];
  start_tile<R, NV>(c, m, bias, acc, C, ldc);
  for (int k = 0; k < KP; ++k) {
    __m512bh b[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) b[v] = (__m512bh)_mm512_maskz_loadu_epi32(m[v], B + k * ldb + 16 * v);
    const uint32_t* a = A + k * ks;
#pragma GCC unroll 12
    for (int r = 0; r < R; ++r) {
      const __m512bh x = (__m512bh)_mm512_set1_epi32(int(a[r * rs]));
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) c[r][v] = _mm512_dpbf16_ps(c[r][v], x, b[v]);
    }
  }
  store_tile<R, NV>(c, m, C, ldc);
}

template <typename T>
using TileFn = void (*)(int, const T*, long, long, const T*, long, __mmask16, __mmask16, const float*, bool, float*,
                        long);

template <typename T, int NV, bool G, size_t... R>
constexpr std::array<TileFn<T>, kRowTile> tile_table(std::index_sequence<R...>) {
  if constexpr (std::is_same_v<T, float>)
    return {&tile_f32<int(R) + 1, NV, G>...};
  else
    return {&tile_bf16<int(R) + 1, NV>...};
}

// tiles[NV - 1][R - 1]
template <typename T, bool G = false>
const std::array<std::array<TileFn<T>, kRowTile>, 2> kTiles = {
    tile_table<T, 1, G>(std::make_index_sequence<kRowTile>()), tile_table<T, 2, G>(std::make_index_sequence<kRowTile>())};

__mmask16 lanes(int w) { return w >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << std::max(w, 0)) - 1); }

// C rows [i0, i1), all N columns: panels of 32 columns, register tiles of 12 rows.
// G: B is W [N x K] read by gathers (see tile_f32), so a panel starts at W's row j.
template <typename T, bool G = false>
void product_rows(int i0, int i1, int N, int K, const T* A, long rs, long ks, const T* B, long ldb, const float* bias,
                  bool acc, float* C, long ldc) {
  for (int j = 0; j < N; j += 32) {
    const int w = std::min(32, N - j);
    const int nv = w > 16 ? 2 : 1;
    const T* panel = G ? B + j * ldb : B + j;
    for (int i = i0; i < i1; i += kRowTile) {
      const int r = std::min(kRowTile, i1 - i);
      kTiles<T, G>[nv - 1][r - 1](K, A + i * rs, rs, ks, panel, ldb, lanes(w), lanes(w - 16), bias ? bias + j : nullptr,
                                  acc, C + i * ldc + j, ldc);
    }
  }
}

// ---- bfloat16 conversions (round to nearest even, as vcvtne2ps2bf16) --------------------------

uint32_t bf16_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fc0;  // NaN stays NaN
  return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

// out[j] = (bf16(lo[j]), bf16(hi[j])) for j < n; hi may be null (zeros).
S3REC_AVX512_BF16 void pair_rows(const float* lo, const float* hi, int n, uint32_t* out) {
  for (int j = 0; j < n; j += 16) {
    const __mmask16 m = lanes(n - j);
    const __m256bh a = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, lo + j));
    const __m256bh b = _mm512_cvtneps_pbh(hi ? _mm512_maskz_loadu_ps(m, hi + j) : _mm512_setzero_ps());
    // (the maskz forms: GCC 12 warns about the unmasked ones' undefined pass-through operand)
    const __m512i w = _mm512_or_si512(_mm512_maskz_cvtepu16_epi32(0xFFFF, (__m256i)a),
                                      _mm512_maskz_slli_epi32(0xFFFF, _mm512_maskz_cvtepu16_epi32(0xFFFF, (__m256i)b), 16));
    _mm512_mask_storeu_epi32(out + j, m, w);
  }
}

// out[kp] = (bf16(x[2kp]), bf16(x[2kp + 1])) for kp < (n + 1) / 2: a row as pairs along itself.
S3REC_AVX512_BF16 void pair_within_row(const float* x, int n, uint32_t* out) {
  for (int k = 0; k < n; k += 32) {
    const __m512 lo = _mm512_maskz_loadu_ps(lanes(n - k), x + k);
    const __m512 hi = _mm512_maskz_loadu_ps(lanes(n - k - 16), x + k + 16);
    const int pairs = std::min(16, (n - k + 1) / 2);
    _mm512_mask_storeu_epi32(out + k / 2, lanes(pairs), (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
  }
}

// op(B) [K x N] as pairs of rows: Bv[kp * N + n] = (op(B)[2kp][n], op(B)[2kp+1][n]).
void pack_pairs(int K, int N, const float* B, int ldb, bool b_transposed, uint32_t* Bv) {
  const int KP = (K + 1) / 2;
  if (!b_transposed) {
    for (int kp = 0; kp < KP; ++kp)
      pair_rows(B + size_t(2 * kp) * ldb, 2 * kp + 1 < K ? B + size_t(2 * kp + 1) * ldb : nullptr, N,
                Bv + size_t(kp) * N);
    return;
  }
  for (int n = 0; n < N; ++n)
    for (int kp = 0; kp < KP; ++kp) {
      const float* w = B + size_t(n) * ldb + 2 * kp;
      Bv[size_t(kp) * N + n] = bf16_bits(w[0]) | (2 * kp + 1 < K ? bf16_bits(w[1]) << 16 : 0u);
    }
}

bool cpu_has_avx512() {
  static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  return yes;
}

bool cpu_has_avx512_bf16() {
  unsigned a, b, c, d;
  __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(1));
  return (a >> 5) & 1u;  // CPUID.(EAX=7, ECX=1):EAX bit 5
}

// ---- fallbacks without AVX-512 (OpenBLAS) --------------------------------------------------

void blas_nn(int M, int N, int K, const float* A, int lda, const float* B, int ldb, bool b_transposed,
             const float* bias, bool accumulate, float* C, int ldc) {
  if (bias)
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < N; ++j) C[size_t(i) * ldc + j] = (accumulate ? C[size_t(i) * ldc + j] : 0.0f) + bias[j];
  gemm(false, b_transposed, M, N, K, 1.0f, A, lda, B, ldb, accumulate || bias ? 1.0f : 0.0f, C, ldc);
}

}  // namespace

bool thin_kernels_available() { return cpu_has_avx512(); }

bool bf16_supported() {
  const char* off = std::getenv("S3REC_DISABLE_BF16");
  if (off && std::strcmp(off, "1") == 0) return false;
  static const bool yes = cpu_has_avx512() && cpu_has_avx512_bf16();
  return yes;
}

void set_matmul_precision(MatmulPrecision p) {
  if (p == MatmulPrecision::BF16 && !bf16_supported())
    throw std::runtime_error(
        "precision=bf16 needs a CPU with AVX512_BF16 (or AMX); this one has none (or S3REC_DISABLE_BF16=1 is set): "
        "use precision=fp32");
  g_precision = p;
}

MatmulPrecision matmul_precision() { return g_precision; }

MatmulPrecision parse_matmul_precision(const std::string& s) {
  if (s == "fp32") return MatmulPrecision::FP32;
  if (s == "bf16") return MatmulPrecision::BF16;
  throw std::invalid_argument("precision must be fp32 or bf16, not '" + s + "'");
}

SmallOperand::SmallOperand(int K, int N, const float* B, int ldb, bool b_transposed, long rows)
    : K_(K), N_(N), bf16_(g_precision == MatmulPrecision::BF16), blas_(!cpu_has_avx512() || K <= 0), B_(B),
      ldb_(ldb), transposed_(b_transposed) {
  if (blas_ || N <= 0) return;
  gathered_ = !bf16_ && b_transposed && rows >= 0 && rows <= kGatherRows;
  if (gathered_) return;
  if (bf16_) {
    pairs_.reset(new uint32_t[size_t((K + 1) / 2) * N]);
    pack_pairs(K, N, B, ldb, b_transposed, pairs_.get());
  } else if (b_transposed) {
    f32_.reset(new float[size_t(K) * N]);
    for (int n = 0; n < N; ++n)
      for (int k = 0; k < K; ++k) f32_[size_t(k) * N + n] = B[size_t(n) * ldb + k];
    B_ = f32_.get();
    ldb_ = N;
  }
}

void SmallOperand::multiply_rows(int i0, int i1, const float* A, int lda, const float* bias, bool accumulate,
                                 float* C, int ldc) const {
  if (i1 <= i0 || N_ <= 0) return;
  if (blas_) {
    blas_nn(i1 - i0, N_, K_, A + size_t(i0) * lda, lda, B_, int(ldb_), transposed_, bias, accumulate,
            C + size_t(i0) * ldc, ldc);
    return;
  }
  if (gathered_) {
    product_rows<float, true>(i0, i1, N_, K_, A, lda, 1, B_, ldb_, bias, accumulate, C, ldc);
    return;
  }
  if (!bf16_) {
    product_rows<float>(i0, i1, N_, K_, A, lda, 1, B_, ldb_, bias, accumulate, C, ldc);
    return;
  }
  const int KP = (K_ + 1) / 2;
  thread_local std::vector<uint32_t> ap;  // A's rows as bfloat16 pairs, a block at a time
  for (int b0 = i0; b0 < i1; b0 += kRowBlock) {
    const int b1 = std::min(i1, b0 + kRowBlock);
    ap.resize(size_t(kRowBlock) * KP);
    for (int i = b0; i < b1; ++i) pair_within_row(A + size_t(i) * lda, K_, ap.data() + size_t(i - b0) * KP);
    product_rows<uint32_t>(0, b1 - b0, N_, KP, ap.data(), KP, 1, pairs_.get(), N_, bias, accumulate,
                           C + size_t(b0) * ldc, ldc);
  }
}

void thin_nn(int M, int N, int K, const float* A, int lda, const float* B, int ldb, bool b_transposed,
             const float* bias, bool accumulate, float* C, int ldc, const RowEpilogue& epi) {
  if (M <= 0 || N <= 0) return;
  const SmallOperand op(K, N, B, ldb, b_transposed, M);
  const int blocks = (M + kRowBlock - 1) / kRowBlock;
#pragma omp parallel for schedule(static) if (blocks > 1 && double(M) * N * K > kParallelMacs)
  for (int blk = 0; blk < blocks; ++blk) {
    const int i0 = blk * kRowBlock, i1 = std::min(M, i0 + kRowBlock);
    op.multiply_rows(i0, i1, A, lda, bias, accumulate, C, ldc);
    if (epi) epi(i0, i1);
  }
}

void thin_tn_rows(int n0, int n1, int M, int K, const float* dY, int ldy, const float* X, int ldx, float* dW,
                  int lddw, float* db) {
  const int nn = n1 - n0;
  if (M <= 0 || nn <= 0) return;
  if (!cpu_has_avx512() || K <= 0) {
    if (K > 0) gemm(true, false, nn, K, M, 1.0f, dY + n0, ldy, X, ldx, 1.0f, dW + size_t(n0) * lddw, lddw);
    if (db) col_sums(M, nn, dY + n0, ldy, 1.0f, 1.0f, db + n0);
    return;
  }
  const bool bf16 = g_precision == MatmulPrecision::BF16;
  thread_local std::vector<uint32_t> ap, bp;
  for (int r0 = 0; r0 < M; r0 += kInnerBlock) {
    const int rows = std::min(kInnerBlock, M - r0);
    const float* dy = dY + size_t(r0) * ldy;
    const float* x = X + size_t(r0) * ldx;
    if (bf16) {  // pairs of consecutive rows: dY's as A [nn x rows/2] (transposed), X's as B
      const int RP = (rows + 1) / 2;
      ap.resize(size_t(RP) * nn);
      bp.resize(size_t(RP) * K);
      for (int p = 0; p < RP; ++p) {
        const bool odd = 2 * p + 1 < rows;
        pair_rows(dy + size_t(2 * p) * ldy + n0, odd ? dy + size_t(2 * p + 1) * ldy + n0 : nullptr, nn,
                  ap.data() + size_t(p) * nn);
        pair_rows(x + size_t(2 * p) * ldx, odd ? x + size_t(2 * p + 1) * ldx : nullptr, K, bp.data() + size_t(p) * K);
      }
      product_rows<uint32_t>(0, nn, K, RP, ap.data(), 1, nn, bp.data(), K, nullptr, true, dW + size_t(n0) * lddw,
                             lddw);
    } else {
      product_rows<float>(0, nn, K, rows, dy + n0, 1, ldy, x, ldx, nullptr, true, dW + size_t(n0) * lddw, lddw);
    }
    if (db)
      for (int r = 0; r < rows; ++r) {
        const float* y = dy + size_t(r) * ldy;
        for (int n = n0; n < n1; ++n) db[n] += y[n];
      }
  }
}

namespace {

// This thread's share [n0, n1) of N rows of a weight gradient.
std::pair<int, int> my_rows(int N) {
  const int nt = omp_get_num_threads(), id = omp_get_thread_num();
  return {int(long(N) * id / nt), int(long(N) * (id + 1) / nt)};
}

bool worth_parallel(int M, int N, int K) { return double(M) * N * K > kParallelMacs; }

}  // namespace

void thin_tn(int M, int N, int K, const float* dY, int ldy, const float* X, int ldx, float* dW, int lddw,
             float* db) {
  if (M <= 0 || N <= 0) return;
#pragma omp parallel if (N >= 2 * kRowTile && worth_parallel(M, N, K))
  {
    const auto [n0, n1] = my_rows(N);
    thin_tn_rows(n0, n1, M, K, dY, ldy, X, ldx, dW, lddw, db);
  }
}

void thin_linear_backward(const float* X, int n, int in, const float* W, int out, const float* dY, float* dX,
                          bool accumulate_dx, float* dW, float* db, const RowEpilogue& dx_epi) {
  if (n <= 0) return;
  std::optional<SmallOperand> w;  // dX = dY W: W [out x in] is op(B) as it is
  if (dX) w.emplace(out, in, W, in, false);
  const int blocks = (n + kRowBlock - 1) / kRowBlock;
  // the two products are independent: one parallel region, no barrier between them
#pragma omp parallel if (blocks > 1 && worth_parallel(n, in, out))
  {
    if (dX) {
#pragma omp for schedule(static) nowait
      for (int blk = 0; blk < blocks; ++blk) {
        const int i0 = blk * kRowBlock, i1 = std::min(n, i0 + kRowBlock);
        w->multiply_rows(i0, i1, dY, out, nullptr, accumulate_dx, dX, in);
        if (dx_epi) dx_epi(i0, i1);
      }
    }
    const auto [o0, o1] = my_rows(out);
    thin_tn_rows(o0, o1, n, in, dY, out, X, in, dW, in, db);
  }
}

}  // namespace s3rec
