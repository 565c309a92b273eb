#include <cmath>
#include <stdexcept>
#include <string>

#include "s3rec/evaluation.h"

namespace s3rec {

EvalMode parse_eval_mode(const std::string& s) {
  if (s == "sampled") return EvalMode::Sampled;
  if (s == "full") return EvalMode::Full;
  throw std::invalid_argument("eval_mode must be 'sampled' or 'full', got '" + s + "'");
}

const char* eval_mode_name(EvalMode m) { return m == EvalMode::Sampled ? "sampled" : "full"; }

const char* selection_metric(EvalMode mode) { return mode == EvalMode::Sampled ? "MRR" : "NDCG@20"; }

double metric(const Metrics& m, const std::string& name) {
  for (const auto& [k, v] : m)
    if (k == name) return v;
  throw std::out_of_range("no metric named " + name);
}

RankMetrics::RankMetrics(EvalMode mode) : mode_(mode) {
  if (mode == EvalMode::Sampled) {
    hr_ks_ = {1, 5, 10};
    ndcg_ks_ = {5, 10};
  } else {
    hr_ks_ = {5, 10, 20};
    ndcg_ks_ = {5, 10, 20};
  }
  hr_.assign(hr_ks_.size(), 0.0);
  ndcg_.assign(ndcg_ks_.size(), 0.0);
}

void RankMetrics::add(long r) {
  if (r < 0) throw std::invalid_argument("negative rank");
  for (size_t i = 0; i < hr_ks_.size(); ++i) hr_[i] += r < hr_ks_[i] ? 1.0 : 0.0;
  for (size_t i = 0; i < ndcg_ks_.size(); ++i) ndcg_[i] += r < ndcg_ks_[i] ? 1.0 / std::log2(double(r) + 2.0) : 0.0;
  mrr_ += 1.0 / (double(r) + 1.0);
  ++n_;
}

Metrics RankMetrics::result() const {
  const double n = n_ > 0 ? double(n_) : 1.0;
  auto hr = [&](int k) {
    for (size_t i = 0; i < hr_ks_.size(); ++i)
      if (hr_ks_[i] == k) return hr_[i] / n;
    return 0.0;
  };
  auto ndcg = [&](int k) {
    for (size_t i = 0; i < ndcg_ks_.size(); ++i)
      if (ndcg_ks_[i] == k) return ndcg_[i] / n;
    return 0.0;
  };
  if (mode_ == EvalMode::Sampled)
    return {{"HR@1", hr(1)},     {"HR@5", hr(5)},       {"NDCG@5", ndcg(5)},
            {"HR@10", hr(10)},   {"NDCG@10", ndcg(10)}, {"MRR", mrr_ / n}};
  return {{"HR@5", hr(5)},   {"NDCG@5", ndcg(5)},   {"HR@10", hr(10)}, {"NDCG@10", ndcg(10)},
          {"HR@20", hr(20)}, {"NDCG@20", ndcg(20)}, {"MRR", mrr_ / n}};
}

}  // namespace s3rec
