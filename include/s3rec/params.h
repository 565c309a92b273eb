#pragma once
// All trainable tensors of a model live in one flat buffer (values) with a
// parallel gradient buffer, so the optimizer is one loop and fused products
// (query/key/value) see contiguous weights.
#include <cstddef>
#include <string>
#include <vector>

namespace s3rec {

struct ParamInfo {
  std::string name;          // the reference PyTorch model's state_dict key
  std::vector<int> shape;    // PyTorch shape: Linear weights are [out, in]
  size_t offset = 0;         // into values()/grads()
  size_t size = 0;
};

class ParamStore {
 public:
  int add(const std::string& name, std::vector<int> shape);  // before allocate()
  void allocate();                                           // zero values and grads
  int find(const std::string& name) const;                   // -1 when absent
  float* value(int id) { return values_.data() + infos_[id].offset; }
  const float* value(int id) const { return values_.data() + infos_[id].offset; }
  float* grad(int id) { return grads_.data() + infos_[id].offset; }
  const float* grad(int id) const { return grads_.data() + infos_[id].offset; }
  const ParamInfo& info(int id) const { return infos_[id]; }
  const std::vector<ParamInfo>& infos() const { return infos_; }
  std::vector<float>& values() { return values_; }
  const std::vector<float>& values() const { return values_; }
  std::vector<float>& grads() { return grads_; }
  const std::vector<float>& grads() const { return grads_; }
  size_t total() const { return total_; }
  void zero_grad();
  // Name of the first parameter whose gradient holds a NaN or infinity; "" when all are finite.
  std::string first_nonfinite_grad() const;

 private:
  std::vector<ParamInfo> infos_;
  std::vector<float> values_, grads_;
  size_t total_ = 0;
};

// torch.optim.Adam (amsgrad off): L2 weight decay is added to the gradient,
// denom = sqrt(v) / sqrt(1 - beta2^t) + eps, step = lr / (1 - beta1^t).
struct AdamConfig {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.0f;
};

class Adam {
 public:
  Adam(size_t n, AdamConfig cfg) : cfg_(cfg), m_(n, 0.0f), v_(n, 0.0f) {}
  void step(float* params, const float* grads);
  // step(), then the gradients set to zero in the same pass over memory
  void step_and_zero_grad(float* params, float* grads);
  long steps() const { return t_; }
  std::vector<float>& exp_avg() { return m_; }
  std::vector<float>& exp_avg_sq() { return v_; }
  const std::vector<float>& exp_avg() const { return m_; }
  const std::vector<float>& exp_avg_sq() const { return v_; }
  void set_steps(long t) { t_ = t; }
  const AdamConfig& config() const { return cfg_; }

 private:
  void update(float* params, const float* grads, float* zero_grads);
  AdamConfig cfg_;
  std::vector<float> m_, v_;
  long t_ = 0;
};

}  // namespace s3rec
