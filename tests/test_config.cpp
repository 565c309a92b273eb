#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "s3rec/config.h"

using namespace s3rec;

namespace {
std::string write_tmp(const std::string& name, const std::string& text) {
  const auto p = std::filesystem::temp_directory_path() / ("s3rec_cfg_" + name);
  std::ofstream(p) << text;
  return p.string();
}
}  // namespace

TEST(Config, DefaultsAreThePapers) {
  const RunConfig c = load_run_config({}, {});
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.inner_size, 256);
  EXPECT_EQ(c.n_layers, 2);
  EXPECT_EQ(c.n_heads, 2);
  EXPECT_DOUBLE_EQ(c.hidden_dropout_prob, 0.5);
  EXPECT_DOUBLE_EQ(c.attn_dropout_prob, 0.5);
  EXPECT_DOUBLE_EQ(c.mask_ratio, 0.2);
  EXPECT_DOUBLE_EQ(c.aap_weight, 0.2);
  EXPECT_DOUBLE_EQ(c.mip_weight, 1.0);
  EXPECT_DOUBLE_EQ(c.map_weight, 1.0);
  EXPECT_DOUBLE_EQ(c.sp_weight, 0.5);
  EXPECT_EQ(c.pretrain_batch_size, 200);
  EXPECT_EQ(c.train_batch_size, 256);
  EXPECT_EQ(c.stopping_step, 10);
  EXPECT_EQ(c.loss_type, "BCE");
  EXPECT_EQ(c.eval_mode, "sampled");
  EXPECT_EQ(c.MAX_ITEM_LIST_LENGTH, 50);
  EXPECT_DOUBLE_EQ(c.learning_rate, 1e-3);
}

TEST(Config, YamlFilesThenOverrides) {
  const auto a = write_tmp("a.yaml", "hidden_size: 32\nn_heads: 4\nitem_attribute: [genre, year]\n");
  const auto b = write_tmp("b.yaml", "hidden_size: 48\n");
  const RunConfig c = load_run_config({a, b}, {{"n_heads", "3"}, {"eval_mode", "full"}});
  EXPECT_EQ(c.hidden_size, 48);
  EXPECT_EQ(c.n_heads, 3);
  EXPECT_EQ(c.eval_mode, "full");
  EXPECT_EQ(c.item_attribute, (std::vector<std::string>{"genre", "year"}));
  const RunConfig again = load_run_config({write_tmp("resolved.yaml", to_yaml(c))}, {});
  EXPECT_EQ(to_yaml(again), to_yaml(c));
}

TEST(Config, UnknownKeysSuggestTheClosest) {
  try {
    load_run_config({}, {{"hiden_size", "3"}});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'hidden_size'"), std::string::npos) << e.what();
  }
  const auto f = write_tmp("bad.yaml", "seed: 1\nmask_rato: 0.3\n");
  try {
    load_run_config({f}, {});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(":2:"), std::string::npos) << "names the YAML line: " << e.what();
  }
}

TEST(Config, InvalidValuesSayWhatIsAccepted) {
  auto msg = [](std::vector<std::pair<std::string, std::string>> o) {
    try {
      load_run_config({}, o);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(msg({{"n_layers", "1.5"}}).find("integer"), std::string::npos);
  EXPECT_NE(msg({{"learning_rate", "abc"}}).find("number"), std::string::npos);
  EXPECT_NE(msg({{"hidden_act", "elu"}}).find("gelu, relu, swish, tanh, sigmoid"), std::string::npos);
  EXPECT_NE(msg({{"loss_type", "MSE"}}).find("BCE, BPR, CE"), std::string::npos);
  EXPECT_NE(msg({{"hidden_dropout_prob", "1.0"}}).find("[0, 1)"), std::string::npos);
  EXPECT_NE(msg({{"n_heads", "3"}}).find("divide"), std::string::npos);
  EXPECT_NE(msg({{"train_batch_size", "-4"}}).find("positive"), std::string::npos);
  EXPECT_NE(msg({{"eval_mode", "all"}}).find("'sampled' or 'full'"), std::string::npos);
}

namespace {
std::string config_error(const std::vector<std::string>& files, std::vector<std::pair<std::string, std::string>> o) {
  try {
    load_run_config(files, o);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST(Config, NegSamplingMeansWhatRecBoleMeans) {
  // None: no sampled negatives, so the CE loss over all items; {uniform: 1}: one negative
  for (const char* none : {"neg_sampling: None\n", "neg_sampling: ~\n", "neg_sampling:\n", "neg_sampling: null\n"})
    EXPECT_EQ(load_run_config({write_tmp("ns.yaml", none)}, {}).loss_type, "CE") << none;
  EXPECT_EQ(load_run_config({}, {{"neg_sampling", "None"}}).loss_type, "CE");
  const RunConfig one = load_run_config({write_tmp("ns1.yaml", "neg_sampling:\n  uniform: 1\n")}, {});
  EXPECT_EQ(one.loss_type, "BCE");
  EXPECT_EQ(one.neg_sampling, "{uniform: 1}");
  EXPECT_EQ(load_run_config({}, {{"neg_sampling", "{'uniform': 1}"}, {"loss_type", "BPR"}}).loss_type, "BPR");
  // the other way round: loss_type alone decides neg_sampling
  EXPECT_EQ(load_run_config({}, {{"loss_type", "CE"}}).neg_sampling, "None");
  EXPECT_EQ(load_run_config({}, {}).neg_sampling, "{uniform: 1}");
  // RecBole >= 1.1 spelling
  EXPECT_EQ(load_run_config({}, {{"train_neg_sample_args", "None"}}).loss_type, "CE");
  EXPECT_EQ(load_run_config({write_tmp("tn.yaml",
                                       "train_neg_sample_args: {distribution: uniform, sample_num: 1, alpha: 1.0, "
                                       "dynamic: False, candidate_num: 0}\nloss_type: BPR\n")},
                            {})
                .loss_type,
            "BPR");
  // contradictions and what s3rec cannot do are refused, saying why
  EXPECT_NE(config_error({}, {{"neg_sampling", "None"}, {"loss_type", "BPR"}}).find("needs one"), std::string::npos);
  EXPECT_NE(config_error({}, {{"neg_sampling", "{uniform: 1}"}, {"loss_type", "CE"}}).find("should be None"),
            std::string::npos);
  for (const char* v : {"{uniform: 5}", "{popularity: 1}"})
    EXPECT_NE(config_error({}, {{"neg_sampling", v}}).find("RecBole key neg_sampling = " + std::string(v) +
                                                           " is not supported by s3rec"),
              std::string::npos)
        << config_error({}, {{"neg_sampling", v}});
  EXPECT_NE(config_error({}, {{"train_neg_sample_args", "{distribution: popularity, sample_num: 1}"}})
                .find("not supported by s3rec"),
            std::string::npos);
}

TEST(Config, EvalArgsTakesRecBolesProtocolValues) {
  const auto f = write_tmp("ea.yaml",
                           "eval_args:\n  split: {'LS': 'valid_and_test'}\n  group_by: user\n  order: TO\n"
                           "  mode: full\n");
  EXPECT_EQ(load_run_config({f}, {}).eval_mode, "full");
  EXPECT_EQ(load_run_config({}, {{"eval_args", "{'mode': 'uni100'}"}}).eval_mode, "sampled");
  // the command line wins over the files, whichever spelling each uses
  EXPECT_EQ(load_run_config({f}, {{"eval_mode", "sampled"}}).eval_mode, "sampled");
  EXPECT_EQ(load_run_config({write_tmp("em.yaml", "eval_mode: full\n")}, {{"eval_args", "{mode: uni100}"}}).eval_mode,
            "sampled");
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"{split: {'RS': [0.8, 0.1, 0.1]}}", "eval_args.split"},
      {"{order: RO}", "eval_args.order"},
      {"{group_by: none}", "eval_args.group_by"},
      {"{mode: pop100}", "eval_args.mode"},
      {"{mode: {valid: uni100, test: full}}", "eval_args.mode"}};
  for (const auto& [v, key] : refused) {
    const std::string e = config_error({}, {{"eval_args", v}});
    EXPECT_NE(e.find("RecBole key " + key), std::string::npos) << e;
    EXPECT_NE(e.find("is not supported by s3rec: "), std::string::npos) << e;
  }
  EXPECT_NE(config_error({}, {{"eval_args", "{mde: full}"}}).find("unknown key 'mde'"), std::string::npos);
}

TEST(Config, MetricsTopkValidMetric) {
  const RunConfig c = load_run_config(
      {write_tmp("m.yaml", "metrics: [\"Recall\", \"MRR\", \"NDCG\", \"Hit\", \"Precision\", \"MAP\"]\n"
                           "topk: [10, 20]\nvalid_metric: MRR@10\n")},
      {});
  const auto specs = c.metric_specs();
  ASSERT_EQ(specs.size(), 12u);
  EXPECT_EQ(specs[0].name(), "Recall@10");
  EXPECT_EQ(specs[7].name(), "HR@20");
  EXPECT_EQ(c.valid_metric, "MRR@10");
  // RecBole's defaults fill in the other half: topk [10], metrics Recall, MRR, NDCG, Hit, Precision
  EXPECT_EQ(load_run_config({}, {{"metrics", "MAP"}}).metric_specs(), (std::vector<MetricSpec>{{MetricKind::MAP, 10}}));
  EXPECT_EQ(load_run_config({}, {{"topk", "5"}}).metric_specs().size(), 5u);
  EXPECT_TRUE(load_run_config({}, {}).metric_specs().empty());  // the protocol's report
  EXPECT_NE(config_error({}, {{"metrics", "[Recall, GAUC]"}}).find("'GAUC' is not supported by s3rec"),
            std::string::npos);
  EXPECT_NE(config_error({}, {{"valid_metric", "AUC"}}).find("metric 'AUC'"), std::string::npos);
  EXPECT_NE(config_error({}, {{"topk", "[10, x]"}}).find("expected integers"), std::string::npos);
}

TEST(Config, OtherRecBoleKeysAcceptedWhereS3recDoesTheSameOrRefusedSayingWhy) {
  const RunConfig c = load_run_config(
      {write_tmp("rb.yaml", "gpu_id: 0\nuse_gpu: True\nstate: INFO\neval_step: 1\nvalid_metric_bigger: True\n"
                            "model: S3Rec\nclip_grad_norm: ~\n")},
      {});
  ASSERT_EQ(c.notes.size(), 3u);  // gpu_id, use_gpu and state have no effect here, and are told so
  EXPECT_NE(c.notes[0].find("RecBole key gpu_id has no effect in s3rec"), std::string::npos) << c.notes[0];
  const std::string e = config_error({write_tmp("rb2.yaml", "seed: 1\neval_step: 2\n")}, {});
  EXPECT_NE(e.find(":2: RecBole key eval_step = 2 is not supported by s3rec: s3rec validates after every epoch"),
            std::string::npos)
      << e;
  EXPECT_NE(config_error({}, {{"load_col", "{inter: [user_id, item_id]}"}}).find("RecBole key load_col"),
            std::string::npos);
  EXPECT_NE(config_error({}, {{"model", "BERT4Rec"}}).find("RecBole key model = BERT4Rec is not supported"),
            std::string::npos);
  // a key RecBole does not have either is still an unknown key
  EXPECT_NE(config_error({}, {{"gpu_idx", "0"}}).find("unknown key 'gpu_idx'"), std::string::npos);
}

TEST(Config, NumbersAreWrittenAsAPersonWritesThem) {
  const std::string y = to_yaml(load_run_config({}, {}));
  for (const char* want : {"mask_ratio: 0.2\n", "layer_norm_eps: 1e-12\n", "initializer_range: 0.02\n",
                           "learning_rate: 0.001\n", "mip_weight: 1\n"})
    EXPECT_NE(y.find(want), std::string::npos) << want << "\n" << y;
  const std::string help = config_help();
  EXPECT_NE(help.find("--mask_ratio=0.2\n"), std::string::npos) << help;
  EXPECT_NE(help.find("--layer_norm_eps=1e-12\n"), std::string::npos) << help;
  EXPECT_EQ(help.find("0000000"), std::string::npos) << help;
  // and still read back exactly, RecBole's keys included
  const RunConfig c = load_run_config({}, {{"learning_rate", "0.1"}, {"neg_sampling", "None"}, {"topk", "[5, 10]"},
                                           {"metrics", "[Hit, MAP]"}, {"valid_metric", "MAP@5"}});
  const RunConfig again = load_run_config({write_tmp("again.yaml", to_yaml(c))}, {});
  EXPECT_EQ(to_yaml(again), to_yaml(c));
  EXPECT_EQ(again.learning_rate, 0.1);
  EXPECT_EQ(again.loss_type, "CE");
  EXPECT_EQ(again.metric_specs().size(), 4u);
}
