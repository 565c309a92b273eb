#pragma once
// Embedding layer plus the N-layer post-norm Transformer encoder on packed batches.
#include <cstdint>

#include "model/workspace.h"
#include "s3rec/model.h"

namespace s3rec {

// Lays out `seqs` in ws: sequences [0, full_seqs) produce an output row per
// token, the rest only at their last token (rows in that order). Throws if a
// sequence is empty or longer than max_seq_length.
void encoder_layout(Workspace& ws, const PackedSeqs& seqs, int full_seqs, bool causal, int max_len, int heads);

// Forward pass; the output is ws.out(), [ws.out_rows() x d].
void encoder_forward(const S3RecModel& m, Workspace& ws, bool train, uint64_t dropout_key);

// Backward pass from dout [out_rows x d] (clobbered); gradients accumulate into m.params().grads().
void encoder_backward(S3RecModel& m, Workspace& ws, float* dout);

}  // namespace s3rec
