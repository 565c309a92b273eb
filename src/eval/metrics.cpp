#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string>

#include "s3rec/evaluation.h"

namespace s3rec {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

struct KindName {
  MetricKind kind;
  const char* shown;   // in reports
  const char* recbole; // RecBole's spelling
};
constexpr KindName kKinds[] = {{MetricKind::HR, "HR", "Hit"},
                               {MetricKind::NDCG, "NDCG", "NDCG"},
                               {MetricKind::MRR, "MRR", "MRR"},
                               {MetricKind::Recall, "Recall", "Recall"},
                               {MetricKind::Precision, "Precision", "Precision"},
                               {MetricKind::MAP, "MAP", "MAP"}};

// The kind named `s` (report or RecBole spelling, any case), or nullptr.
const KindName* find_kind(const std::string& s) {
  const std::string l = lower(s);
  for (const KindName& k : kKinds)
    if (l == lower(k.shown) || l == lower(k.recbole)) return &k;
  return nullptr;
}

}  // namespace

EvalMode parse_eval_mode(const std::string& s) {
  if (s == "sampled") return EvalMode::Sampled;
  if (s == "full") return EvalMode::Full;
  throw std::invalid_argument("eval_mode must be 'sampled' or 'full', got '" + s + "'");
}

const char* eval_mode_name(EvalMode m) { return m == EvalMode::Sampled ? "sampled" : "full"; }

const char* selection_metric(EvalMode mode) { return mode == EvalMode::Sampled ? "MRR" : "NDCG@20"; }

MetricSpec valid_metric_spec(EvalMode mode, const std::string& valid_metric) {
  return parse_metric(valid_metric.empty() ? selection_metric(mode) : valid_metric);
}

double metric(const Metrics& m, const std::string& name) {
  for (const auto& [k, v] : m)
    if (k == name) return v;
  throw std::out_of_range("no metric named " + name);
}

std::string MetricSpec::name() const {
  for (const KindName& n : kKinds)
    if (n.kind == kind) return k > 0 ? std::string(n.shown) + "@" + std::to_string(k) : std::string(n.shown);
  return "?";
}

double MetricSpec::of_rank(long r) const {
  const bool hit = k == 0 || r < k;
  if (!hit) return 0.0;
  switch (kind) {
    case MetricKind::HR:
    case MetricKind::Recall: return 1.0;
    case MetricKind::NDCG: return 1.0 / std::log2(double(r) + 2.0);
    case MetricKind::MRR:
    case MetricKind::MAP: return 1.0 / (double(r) + 1.0);
    case MetricKind::Precision: return 1.0 / double(k);
  }
  return 0.0;
}

MetricSpec parse_metric(const std::string& name) {
  const size_t at = name.find('@');
  const KindName* kind = find_kind(name.substr(0, at));
  MetricSpec m;
  bool ok = kind != nullptr;
  if (ok) {
    m.kind = kind->kind;
    if (at == std::string::npos) {
      ok = m.kind == MetricKind::MRR;  // only MRR has a form without cut-off
    } else {
      const char* b = name.data() + at + 1;
      const char* e = name.data() + name.size();
      const auto r = std::from_chars(b, e, m.k);
      ok = r.ec == std::errc() && r.ptr == e && m.k > 0;
    }
  }
  if (!ok)
    throw std::invalid_argument("metric '" + name +
                                "': expected NAME@K with NAME one of HR (or Hit), NDCG, MRR, Recall, Precision, MAP "
                                "and K > 0, or MRR without a cut-off");
  return m;
}

std::vector<MetricSpec> default_metrics(EvalMode mode) {
  using K = MetricKind;
  if (mode == EvalMode::Sampled)
    return {{K::HR, 1}, {K::HR, 5}, {K::NDCG, 5}, {K::HR, 10}, {K::NDCG, 10}, {K::MRR, 0}};
  return {{K::HR, 5}, {K::NDCG, 5}, {K::HR, 10}, {K::NDCG, 10}, {K::HR, 20}, {K::NDCG, 20}, {K::MRR, 0}};
}

std::vector<MetricSpec> recbole_metrics(const std::vector<std::string>& metrics, const std::vector<int>& topk) {
  if (metrics.empty() || topk.empty()) throw std::invalid_argument("metrics and topk must not be empty");
  std::vector<MetricSpec> out;
  for (const std::string& name : metrics) {
    const KindName* kind = find_kind(name);
    if (!kind)
      throw std::invalid_argument("metric '" + name +
                                  "' is not supported by s3rec: it reports the ranking metrics Hit, NDCG, MRR, "
                                  "Recall, Precision and MAP (each at every k of topk)");
    for (int k : topk) {
      if (k <= 0) throw std::invalid_argument("topk values must be positive, got " + std::to_string(k));
      out.push_back({kind->kind, k});
    }
  }
  return out;
}

RankMetrics::RankMetrics(EvalMode mode) : RankMetrics(default_metrics(mode)) {}

RankMetrics::RankMetrics(std::vector<MetricSpec> metrics) : specs_(std::move(metrics)), sums_(specs_.size(), 0.0) {}

void RankMetrics::add(long r) {
  if (r < 0) throw std::invalid_argument("negative rank");
  for (size_t i = 0; i < specs_.size(); ++i) sums_[i] += specs_[i].of_rank(r);
  ++n_;
}

Metrics RankMetrics::result() const {
  const double n = n_ > 0 ? double(n_) : 1.0;
  Metrics out;
  for (size_t i = 0; i < specs_.size(); ++i) out.emplace_back(specs_[i].name(), sums_[i] / n);
  return out;
}

}  // namespace s3rec
