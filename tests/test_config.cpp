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
