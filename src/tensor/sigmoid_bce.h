#pragma once
// Binary cross-entropy of sigmoid scores, the dense part of AAP/MAP.

namespace s3rec {

// Every entry of s[n] taken with target 0: returns sum of -max(log(1 - sigmoid(s)), -100)
// and overwrites s with weight * d/ds (PyTorch's BCELoss-after-sigmoid gradient).
double sigmoid_bce_negatives(float* s, int n, float weight);

}  // namespace s3rec
