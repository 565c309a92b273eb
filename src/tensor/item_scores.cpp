#include "tensor/item_scores.h"

#include <algorithm>
#include <cmath>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace s3rec {

float item_score(const float* f, const float* e, int d) {
  float s = 0.0f;
  for (int k = 0; k < d; ++k) s = std::fma(f[k], e[k], s);
  return s;
}

namespace {

constexpr int kLanes = 16;  // items per group
constexpr int kUsers = 4;   // users per pass (independent chains hide the FMA latency)

// One group of up to 16 items, transposed: Et[k * 16 + j] = E[j][k]. Three versions with
// the same arithmetic (one fused multiply-add per step, exact as std::fma): AVX-512,
// AVX2+FMA and portable scalar code, picked once by CPU.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx512f"))) void group_scores_avx512(const float* F, int nb, const float* Et, int d, int n,
                                                           float* S, long ldS) {
  int i = 0;
  for (; i + kUsers <= nb; i += kUsers) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    const float* f = F + long(i) * d;
    for (int k = 0; k < d; ++k) {
      const __m512 e = _mm512_loadu_ps(Et + k * kLanes);
      a0 = _mm512_fmadd_ps(_mm512_set1_ps(f[k]), e, a0);
      a1 = _mm512_fmadd_ps(_mm512_set1_ps(f[d + k]), e, a1);
      a2 = _mm512_fmadd_ps(_mm512_set1_ps(f[2 * d + k]), e, a2);
      a3 = _mm512_fmadd_ps(_mm512_set1_ps(f[3 * d + k]), e, a3);
    }
    const __mmask16 m = __mmask16((1u << n) - 1);
    _mm512_mask_storeu_ps(S + long(i) * ldS, m, a0);
    _mm512_mask_storeu_ps(S + long(i + 1) * ldS, m, a1);
    _mm512_mask_storeu_ps(S + long(i + 2) * ldS, m, a2);
    _mm512_mask_storeu_ps(S + long(i + 3) * ldS, m, a3);
  }
  for (; i < nb; ++i) {
    __m512 a = _mm512_setzero_ps();
    const float* f = F + long(i) * d;
    for (int k = 0; k < d; ++k) a = _mm512_fmadd_ps(_mm512_set1_ps(f[k]), _mm512_loadu_ps(Et + k * kLanes), a);
    _mm512_mask_storeu_ps(S + long(i) * ldS, __mmask16((1u << n) - 1), a);
  }
}

__attribute__((target("avx2,fma"))) void group_scores_avx2(const float* F, int nb, const float* Et, int d, int n,
                                                          float* S, long ldS) {
  for (int i = 0; i < nb; ++i) {
    __m256 lo = _mm256_setzero_ps(), hi = lo;
    const float* f = F + long(i) * d;
    for (int k = 0; k < d; ++k) {
      const __m256 fk = _mm256_set1_ps(f[k]);
      lo = _mm256_fmadd_ps(fk, _mm256_loadu_ps(Et + k * kLanes), lo);
      hi = _mm256_fmadd_ps(fk, _mm256_loadu_ps(Et + k * kLanes + 8), hi);
    }
    float acc[kLanes];
    _mm256_storeu_ps(acc, lo);
    _mm256_storeu_ps(acc + 8, hi);
    std::copy(acc, acc + n, S + long(i) * ldS);
  }
}
#endif

void group_scores_portable(const float* F, int nb, const float* Et, int d, int n, float* S, long ldS) {
  for (int i = 0; i < nb; ++i) {
    float acc[kLanes] = {};
    const float* f = F + long(i) * d;
    for (int k = 0; k < d; ++k)
      for (int j = 0; j < kLanes; ++j) acc[j] = std::fma(f[k], Et[k * kLanes + j], acc[j]);
    std::copy(acc, acc + n, S + long(i) * ldS);
  }
}

using GroupScores = void (*)(const float*, int, const float*, int, int, float*, long);

GroupScores pick_group_scores() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return group_scores_avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return group_scores_avx2;
#endif
  return group_scores_portable;
}

const GroupScores group_scores = pick_group_scores();

}  // namespace

void item_scores(const float* F, int nb, const float* E, int n, int d, float* S, long ldS) {
  std::vector<float> Et(size_t(d) * kLanes);
  for (int g = 0; g < n; g += kLanes) {
    const int m = std::min(kLanes, n - g);
    std::fill(Et.begin(), Et.end(), 0.0f);
    for (int j = 0; j < m; ++j)
      for (int k = 0; k < d; ++k) Et[size_t(k) * kLanes + j] = E[long(g + j) * d + k];
    group_scores(F, nb, Et.data(), d, m, S + g, ldS);
  }
}

namespace {

// Four rows at a time (independent chains), 16 components per step, the tail masked.
#if defined(__x86_64__) && defined(__GNUC__)
// GCC 12's AVX-512 headers warn -Wmaybe-uninitialized inside _mm512_reduce_add_ps (their
// own _mm256_undefined_pd; GCC bug 105593, fixed in GCC 13): silenced for this kernel only.
#if !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
__attribute__((target("avx512f"))) void strided_dots_avx512(const float* q, const float* R, long stride, int n, int d,
                                                           float* S) {
  const int full = d / 16;
  const __mmask16 tail = __mmask16((1u << (d % 16)) - 1);
  int j = 0;
  for (; j + 4 <= n; j += 4) {
    const float* r = R + long(j) * stride;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int c = 0; c < full; ++c) {
      const __m512 qc = _mm512_loadu_ps(q + 16 * c);
      a0 = _mm512_fmadd_ps(_mm512_loadu_ps(r + 16 * c), qc, a0);
      a1 = _mm512_fmadd_ps(_mm512_loadu_ps(r + stride + 16 * c), qc, a1);
      a2 = _mm512_fmadd_ps(_mm512_loadu_ps(r + 2 * stride + 16 * c), qc, a2);
      a3 = _mm512_fmadd_ps(_mm512_loadu_ps(r + 3 * stride + 16 * c), qc, a3);
    }
    if (tail) {
      const __m512 qc = _mm512_maskz_loadu_ps(tail, q + 16 * full);
      a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, r + 16 * full), qc, a0);
      a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, r + stride + 16 * full), qc, a1);
      a2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, r + 2 * stride + 16 * full), qc, a2);
      a3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, r + 3 * stride + 16 * full), qc, a3);
    }
    S[j] = _mm512_reduce_add_ps(a0);
    S[j + 1] = _mm512_reduce_add_ps(a1);
    S[j + 2] = _mm512_reduce_add_ps(a2);
    S[j + 3] = _mm512_reduce_add_ps(a3);
  }
  for (; j < n; ++j) {
    const float* r = R + long(j) * stride;
    __m512 a = _mm512_setzero_ps();
    for (int c = 0; c < full; ++c) a = _mm512_fmadd_ps(_mm512_loadu_ps(r + 16 * c), _mm512_loadu_ps(q + 16 * c), a);
    if (tail) a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, r + 16 * full), _mm512_maskz_loadu_ps(tail, q + 16 * full), a);
    S[j] = _mm512_reduce_add_ps(a);
  }
}
#if !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

// Eight partial sums per row, which compilers vectorise at any -march.
void strided_dots_portable(const float* q, const float* R, long stride, int n, int d, float* S) {
  for (int j = 0; j < n; ++j) {
    const float* r = R + long(j) * stride;
    float acc[8] = {};
    int k = 0;
    for (; k + 8 <= d; k += 8)
      for (int l = 0; l < 8; ++l) acc[l] += q[k + l] * r[k + l];
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; k < d; ++k) s += q[k] * r[k];
    S[j] = s;
  }
}

using StridedDots = void (*)(const float*, const float*, long, int, int, float*);

StridedDots pick_strided_dots() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return strided_dots_avx512;
#endif
  return strided_dots_portable;
}

const StridedDots strided_dots_impl = pick_strided_dots();

}  // namespace

void strided_dots(const float* q, const float* R, long stride, int n, int d, float* S) {
  strided_dots_impl(q, R, stride, n, d, S);
}

float quantize_i8(const float* x, int d, int8_t* code) {
  const auto finite = [](float v) { return std::isfinite(v) ? v : 0.0f; };  // NaN and inf count as 0
  float m = 0;
  for (int k = 0; k < d; ++k) m = std::max(m, std::abs(finite(x[k])));
  if (!(m > 0)) {  // a zero row: codes 0
    std::fill(code, code + d, int8_t(0));
    return 0.0f;
  }
  const float scale = m / 127.0f;
  for (int k = 0; k < d; ++k) code[k] = int8_t(std::clamp(std::lround(finite(x[k]) / scale), -127L, 127L));
  return scale;
}

namespace {

#if defined(__x86_64__) && defined(__GNUC__)
#if !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // _mm512_reduce_add_ps, as above
#endif
// 16 int8 codes at p as 16 floats
__attribute__((target("avx512f,avx512bw,avx512vl"))) inline __m512 load_i8(const int8_t* p, __mmask16 m) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, p)));
}

__attribute__((target("avx512f,avx512bw,avx512vl"))) void i8_dots_avx512(const float* q, const int8_t* R,
                                                                        const float* scale, int n, int d, float* S) {
  for (int j = 0; j < n; ++j) {
    const int8_t* r = R + long(j) * d;
    __m512 a = _mm512_setzero_ps();
    for (int c = 0; c < d; c += 16) {
      const __mmask16 m = d - c >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (d - c)) - 1);
      a = _mm512_fmadd_ps(load_i8(r + c, m), _mm512_maskz_loadu_ps(m, q + c), a);
    }
    S[j] = scale[j] * _mm512_reduce_add_ps(a);
  }
}
#if !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

void i8_dots_portable(const float* q, const int8_t* R, const float* scale, int n, int d, float* S) {
  for (int j = 0; j < n; ++j) {
    float s = 0;
    for (int k = 0; k < d; ++k) s += q[k] * float(R[long(j) * d + k]);
    S[j] = scale[j] * s;
  }
}

using I8Dots = void (*)(const float*, const int8_t*, const float*, int, int, float*);

I8Dots pick_i8_dots() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    return i8_dots_avx512;
#endif
  return i8_dots_portable;
}

const I8Dots i8_dots_impl = pick_i8_dots();

}  // namespace

void i8_dots(const float* q, const int8_t* R, const float* scale, int n, int d, float* S) {
  i8_dots_impl(q, R, scale, n, d, S);
}

}  // namespace s3rec
