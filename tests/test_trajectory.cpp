// Pre-training follows the reference over many epochs, not only for one step: s3rec and
// the PyTorch transcription (tests/reference/pretrain_reference.py, the reference's data
// pipeline) pre-train the same generated data with a popularity skew, from several seeds,
// and the per-epoch losses and item-embedding statistics (mean norm, correlation of the
// norm with log popularity) must agree within what the seeds themselves spread. The
// fixture is tests/fixtures/trajectory.json (tests/reference/make_trajectory_fixture.py).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "s3rec/dataset.h"
#include "s3rec/synthetic.h"
#include "s3rec/training.h"

using namespace s3rec;

namespace {

struct Stats {
  double aap = 0, mip = 0, map = 0, sp = 0, item_norm = 0, item_norm_pop_corr = 0;
};

double get(const Stats& s, const std::string& k) {
  if (k == "aap") return s.aap;
  if (k == "mip") return s.mip;
  if (k == "map") return s.map;
  if (k == "sp") return s.sp;
  if (k == "item_norm") return s.item_norm;
  return s.item_norm_pop_corr;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uint64_t fnv1a(const std::string& s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Mean L2 norm of the item rows 1..N and its Pearson correlation with log(1 + count in the
// training parts), as tests/reference/embedding_stats.py computes them.
void item_stats(const S3RecModel& m, const Dataset& d, Stats& s) {
  const int N = d.n_items, dim = m.config().hidden_size;
  std::vector<double> pop(size_t(N) + 1, 0.0);
  for (const auto& seq : d.user_seqs)
    for (int it : train_part(seq)) pop[size_t(it)] += 1;
  const float* E = m.params().value(m.item_embeddings_id());
  std::vector<double> norm(static_cast<size_t>(N)), lp(static_cast<size_t>(N));
  double mn = 0, ml = 0;
  for (int i = 1; i <= N; ++i) {
    double q = 0;
    for (int j = 0; j < dim; ++j) q += double(E[size_t(i) * dim + j]) * E[size_t(i) * dim + j];
    norm[size_t(i - 1)] = std::sqrt(q);
    lp[size_t(i - 1)] = std::log1p(pop[size_t(i)]);
    mn += norm[size_t(i - 1)];
    ml += lp[size_t(i - 1)];
  }
  mn /= N;
  ml /= N;
  double sxy = 0, sxx = 0, syy = 0;
  for (int i = 0; i < N; ++i) {
    sxy += (norm[size_t(i)] - mn) * (lp[size_t(i)] - ml);
    sxx += (norm[size_t(i)] - mn) * (norm[size_t(i)] - mn);
    syy += (lp[size_t(i)] - ml) * (lp[size_t(i)] - ml);
  }
  s.item_norm = mn;
  s.item_norm_pop_corr = sxy / std::sqrt(sxx * syy);
}

}  // namespace

TEST(Trajectory, PretrainingFollowsTheReferenceOverManyEpochs) {
  const nlohmann::json fx = nlohmann::json::parse(slurp(std::string(S3REC_SOURCE_DIR) + "/tests/fixtures/trajectory.json"));
  SyntheticOptions so;  // the data of the fixture's README command
  so.users = 300;
  so.items = 240;
  so.clusters = 8;
  so.min_length = 5;
  so.max_length = 20;
  so.popularity_skew = 1;
  so.seed = 5;
  Dataset gen = make_synthetic(so);
  gen.name = "traj";
  const auto dir = std::filesystem::temp_directory_path() / "s3rec_trajectory";
  std::filesystem::create_directories(dir);
  write_reference_format(dir.string(), gen);
  const uint64_t h = fnv1a(slurp((dir / "traj_item2attributes.json").string()), fnv1a(slurp((dir / "traj.txt").string())));
  ASSERT_EQ(std::to_string(h), fx.at("data_fnv1a").get<std::string>()) << "the generated data changed: remake the fixture";
  LoadOptions lo;
  lo.generate_sample_if_missing = false;
  const Dataset d = load_reference_format(dir.string(), "traj", lo);

  const auto& st = fx.at("settings");
  ModelConfig c;
  c.hidden_size = st.at("hidden_size");
  c.inner_size = 4 * c.hidden_size;
  c.max_seq_length = st.at("max_seq_length");
  c.n_items = d.n_items;
  c.n_attributes = d.n_attributes;
  const std::vector<long> seeds = fx.at("seeds").get<std::vector<long>>();
  const int epochs = int(fx.at("runs")[0].size());
  std::vector<std::vector<Stats>> ours(seeds.size());
  for (size_t k = 0; k < seeds.size(); ++k) {
    S3RecModel m(c);
    m.init_weights(uint64_t(seeds[k]));
    Optimizer opt(m.params(), AdamConfig{});
    PretrainOptions po;
    po.epochs = epochs;
    po.batch_size = st.at("batch_size");
    po.seed = uint64_t(seeds[k]);
    pretrain(m, opt, d, po, {}, [&](const PretrainEpoch& e) {
      Stats s;
      s.aap = e.losses.aap / double(e.samples);
      s.mip = e.losses.mip / double(e.samples);
      s.map = e.losses.map / double(e.samples);
      s.sp = e.losses.sp / double(e.samples);
      item_stats(m, d, s);
      ours[k].push_back(s);
    });
  }

  // At a few epochs: the means over seeds must agree within the seeds' own spread
  // (3 standard errors of the difference of the two means) or a small relative margin.
  for (int epoch : {3, 10, 20, epochs}) {
    for (const std::string key : {"aap", "mip", "map", "sp", "item_norm", "item_norm_pop_corr"}) {
      double ma = 0, mb = 0, va = 0, vb = 0;
      const double n = double(seeds.size());
      for (size_t k = 0; k < seeds.size(); ++k) {
        ma += get(ours[k][size_t(epoch - 1)], key) / n;
        mb += fx["runs"][k][size_t(epoch - 1)][key].get<double>() / n;
      }
      for (size_t k = 0; k < seeds.size(); ++k) {
        va += std::pow(get(ours[k][size_t(epoch - 1)], key) - ma, 2) / (n - 1);
        vb += std::pow(fx["runs"][k][size_t(epoch - 1)][key].get<double>() - mb, 2) / (n - 1);
      }
      const double se = std::sqrt(va / n + vb / n);
      const double tol = std::max(3.0 * se, 0.03 * std::fabs(mb) + 0.01);
      EXPECT_NEAR(ma, mb, tol) << key << " at epoch " << epoch << " (s3rec mean " << ma << ", reference mean " << mb
                               << ", standard error " << se << ")";
    }
  }
  // and the trajectory moved: norms grew, losses fell
  EXPECT_GT(ours[0].back().item_norm, 1.5 * ours[0].front().item_norm);
  EXPECT_LT(ours[0].back().aap, ours[0].front().aap);
}
