#pragma once
#include <cstdint>
// Scores of hidden states against item embeddings, each one FMA chain over the d
// components in order: score(f, e) = fma(f[d-1], e[d-1], ... fma(f[0], e[0], 0)). A score
// is therefore the same number wherever its user and item sit in a block, so a blocked
// full ranking, a single target score and tied items all agree exactly.

namespace s3rec {

float item_score(const float* f, const float* e, int d);

// S[i * ldS + j] = item_score(F[i], E[j]) for users i < nb, items j < n.
// F: [nb x d], E: [n x d] (consecutive rows of the item table).
void item_scores(const float* F, int nb, const float* E, int n, int d, float* S, long ldS);

// S[j] = q . R[j] over d components, for rows j < n that sit `stride` floats apart
// (R: [n x stride], stride >= d). For ordering candidates only: the summation order is the
// kernel's own (vectorised), so a score may differ from item_score's in the last bits.
void strided_dots(const float* q, const float* R, long stride, int n, int d, float* S);

// The same over rows stored as int8 codes with one scale per row, d apart:
// S[j] = scale[j] * (q . R[j]) for j < n, R: [n x d] int8, scale: [n].
void i8_dots(const float* q, const int8_t* R, const float* scale, int n, int d, float* S);

// x [d] as int8 codes (round to nearest, in -127..127) and the returned scale (max |x| / 127;
// 0 for a zero row): x[k] is about scale * code[k], within scale / 2. Components that are
// not finite are coded as 0.
float quantize_i8(const float* x, int d, int8_t* code);

}  // namespace s3rec
