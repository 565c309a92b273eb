#pragma once
// Seeded random numbers. Rng is a sequential generator (xoshiro256**) for data
// sampling; dropout_u16 is counter-based, so dropout masks do not depend on
// the number of threads or the order in which they draw.
#include <cmath>
#include <cstdint>

namespace s3rec {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Dropout randomness: element i gets a 16-bit uniform; one hash of a Weyl
// sequence serves four consecutive elements. keep(i) = u16 >= threshold(p).
inline uint32_t dropout_u16(uint64_t key, uint64_t i) {
  return uint32_t(splitmix64(key + (i >> 2) * 0x9E3779B97F4A7C15ull) >> (16 * (i & 3))) & 0xFFFFu;
}
inline uint32_t dropout_threshold(float p) { return uint32_t(std::lround(double(p) * 65536.0)); }

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { reseed(seed); }
  void reseed(uint64_t seed) {
    uint64_t x = seed;
    for (auto& w : s_) w = splitmix64(x += 0x9E3779B97F4A7C15ull);
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0]; s_[3] ^= s_[1]; s_[1] ^= s_[2]; s_[0] ^= s_[3];
    s_[2] ^= t; s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform integer in [lo, hi], both inclusive (Lemire's unbiased method).
  int64_t uniform_int(int64_t lo, int64_t hi) {
    const uint64_t range = uint64_t(hi - lo) + 1;
    __uint128_t m = __uint128_t(next()) * range;
    uint64_t low = uint64_t(m);
    if (low < range) {
      const uint64_t threshold = (0 - range) % range;
      while (low < threshold) { m = __uint128_t(next()) * range; low = uint64_t(m); }
    }
    return lo + int64_t(m >> 64);
  }
  double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
  double normal() {  // Box-Muller
    const double u1 = uniform(), u2 = uniform();
    return box_muller(u1, u2);
  }
  static double box_muller(double u1, double u2) {
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace s3rec
