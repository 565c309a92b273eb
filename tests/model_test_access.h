#pragma once
// Test-only access to S3RecModel's private encoder probe (its friend).
#include "s3rec/model.h"

namespace s3rec {

struct S3RecModelTestAccess {
  // Gradient of sum(encode_all(seqs) * probe), accumulated into model.params().grads().
  static void encode_all_backward(S3RecModel& model, const PackedSeqs& seqs, bool causal, const float* probe) {
    model.encode_all_backward_probe(seqs, causal, probe);
  }
};

}  // namespace s3rec
