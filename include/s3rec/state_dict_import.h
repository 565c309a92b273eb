#pragma once
// Imports the parameters of the authors' PyTorch S3RecModel (a state_dict, as
// torch.save(model.state_dict(), ...) writes it) as an s3rec checkpoint that
// `finetune --pre_model_path=` continues from. The tensors arrive in a safetensors
// file (the CLI's .pt reader writes one); the architecture is read from their shapes.
#include <string>

#include "s3rec/model_config.h"

namespace s3rec {

// Settings the shapes cannot tell (n_heads, hidden_act, layer_norm_eps, dropout,
// initializer_range) come from `given`; hidden_size, inner_size, n_layers,
// max_seq_length, n_items and n_attributes from the tensors. Every parameter must be
// present as F32 with the shape the model needs, and nothing else may be: a missing,
// mis-shaped or foreign tensor is a std::runtime_error naming `source` and the tensor.
// Writes out_path atomically and returns the configuration it holds.
ModelConfig import_state_dict(const std::string& tensors_path, const std::string& source, const ModelConfig& given,
                              const std::string& out_path);

}  // namespace s3rec
