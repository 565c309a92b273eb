#pragma once
// Model checkpoints as safetensors, tensors named like the reference PyTorch
// model's state_dict (safetensors.torch.load_file + load_state_dict works).
// Metadata: "format" = "s3rec-1", "model_config" (JSON), plus caller fields.
// Optimizer state for resuming lives beside it in PATH.optim.safetensors, so the
// model file stays loadable with PyTorch's strict load_state_dict.
#include <map>
#include <string>
#include <vector>

#include "s3rec/model.h"
#include "s3rec/optimizer.h"
#include "s3rec/safetensors.h"

namespace s3rec {

struct CheckpointMeta {
  ModelConfig config;
  std::map<std::string, std::string> extra;
};

// extra_tensors: more tensors for the model file (a large vocabulary), not parameters.
void save_checkpoint(const std::string& path, const S3RecModel& m, const std::map<std::string, std::string>& extra,
                     const Optimizer* optim = nullptr, const std::map<std::string, StTensor>& extra_tensors = {});
// A model file (as save_checkpoint without optimizer) holding `values` instead of m's own
// parameter values; `values` is laid out like m.params().values().
void save_params(const std::string& path, const S3RecModel& m, const std::vector<float>& values,
                 const std::map<std::string, std::string>& extra);
CheckpointMeta read_checkpoint_meta(const std::string& path);
// Verifies every tensor's presence, dtype and shape and the architecture fields of the
// stored config against m.config(); throws std::runtime_error naming the file and mismatch.
// With optim: its moments and step count too (from PATH.optim.safetensors), refused when
// they were written by another learner or after another number of steps than the model
// file records (the two files of a checkpoint are written one after the other).
void load_checkpoint(const std::string& path, S3RecModel& m, Optimizer* optim = nullptr);
// Every parameter of P from f: present, F32 and of P's shape, else a std::runtime_error
// "SOURCE: tensor NAME ...". Tensors of f that P lacks are not looked at.
void read_params(const StReader& f, const std::string& source, ParamStore& P);
std::string optimizer_path(const std::string& checkpoint_path);
// The configuration as stored in the metadata (a JSON object with ModelConfig's fields).
std::string model_config_json(const ModelConfig& c);

}  // namespace s3rec
