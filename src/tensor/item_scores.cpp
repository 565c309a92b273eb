#include "tensor/item_scores.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "tensor/simd.h"

namespace s3rec {

float item_score(const float* f, const float* e, int d) {
  float s = 0.0f;
  for (int k = 0; k < d; ++k) s = std::fma(f[k], e[k], s);
  return s;
}

namespace {

constexpr int kLanes = 16;  // items per group
constexpr int kUsers = 4;   // users per pass (independent chains hide the FMA latency)

// One group of up to 16 items, transposed: Et[k * 16 + j] = E[j][k].
S3REC_CLONES void group_scores(const float* F, int nb, const float* Et, int d, int n, float* S, long ldS) {
  int i = 0;
  for (; i + kUsers <= nb; i += kUsers) {
    float acc[kUsers][kLanes] = {};
    const float* f0 = F + long(i) * d;
    for (int k = 0; k < d; ++k) {
      const float* et = Et + k * kLanes;
      for (int u = 0; u < kUsers; ++u) {
        const float fk = f0[long(u) * d + k];
        for (int j = 0; j < kLanes; ++j) acc[u][j] = std::fma(fk, et[j], acc[u][j]);
      }
    }
    for (int u = 0; u < kUsers; ++u) std::copy(acc[u], acc[u] + n, S + long(i + u) * ldS);
  }
  for (; i < nb; ++i) {
    float acc[kLanes] = {};
    const float* f = F + long(i) * d;
    for (int k = 0; k < d; ++k)
      for (int j = 0; j < kLanes; ++j) acc[j] = std::fma(f[k], Et[k * kLanes + j], acc[j]);
    std::copy(acc, acc + n, S + long(i) * ldS);
  }
}

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

}  // namespace s3rec
