// precision=bf16: training with the products in bfloat16 (fp32 sums, fp32 weights and Adam
// state) stays close to fp32 training, and is refused with a clear message where the CPU
// cannot do it (forced by S3REC_DISABLE_BF16=1 on any machine).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "run_s3rec.h"
#include "s3rec/optimizer.h"
#include "s3rec/training.h"
#include "tensor/thin_gemm.h"
#include "tiny_world.h"

using namespace s3rec;
using namespace s3rec::testing;
namespace fs = std::filesystem;

namespace {

struct Trained {
  std::vector<PretrainEpoch> epochs;
  std::vector<float> weights;
};

constexpr uint64_t kInitSeed = 3;

Trained initial_weights() {
  S3RecModel m(tiny_model(tiny_data(), 0.2f));
  m.init_weights(kInitSeed);
  return {{}, m.params().values()};
}

Trained pretrain_tiny(MatmulPrecision p) {
  set_matmul_precision(p);
  const Dataset d = tiny_data();
  S3RecModel m(tiny_model(d, 0.2f));
  m.init_weights(kInitSeed);
  Optimizer adam(m.params(), AdamConfig{});
  PretrainOptions o;
  o.epochs = 3;
  o.batch_size = 32;
  Trained t;
  pretrain(m, adam, d, o, {}, [&](const PretrainEpoch& e) { t.epochs.push_back(e); });
  set_matmul_precision(MatmulPrecision::FP32);
  t.weights = m.params().values();
  return t;
}

double joint(const PretrainLosses& l) { return l.aap + l.mip + l.map + l.sp; }

}  // namespace

TEST(Bf16Training, PretrainingFollowsFp32WithinTolerance) {
  if (!bf16_supported()) GTEST_SKIP() << "no AVX512_BF16 on this CPU";
  const Trained f = pretrain_tiny(MatmulPrecision::FP32), b = pretrain_tiny(MatmulPrecision::BF16);
  ASSERT_EQ(f.epochs.size(), 3u);
  ASSERT_EQ(b.epochs.size(), 3u);
  for (size_t e = 0; e < 3; ++e) {  // each epoch's summed loss within 1% of fp32's
    const double lf = joint(f.epochs[e].losses), lb = joint(b.epochs[e].losses);
    EXPECT_NEAR(lb, lf, 0.01 * lf) << "epoch " << e + 1;
  }
  EXPECT_LT(joint(b.epochs[2].losses), joint(b.epochs[0].losses)) << "bf16 training learns";
  // the weights after three epochs moved the same way: the two runs differ by a small
  // fraction of how far training moved them
  const Trained none = initial_weights();
  double diff = 0, moved = 0;
  for (size_t i = 0; i < f.weights.size(); ++i) {
    diff += double(f.weights[i] - b.weights[i]) * (f.weights[i] - b.weights[i]);
    moved += double(f.weights[i] - none.weights[i]) * (f.weights[i] - none.weights[i]);
  }
  std::printf("bf16 - fp32 weights: %.4g of the fp32 run's movement\n", std::sqrt(diff / moved));
  EXPECT_LT(std::sqrt(diff / moved), 0.1);
  EXPECT_NE(f.weights, b.weights) << "bf16 must actually round the products";
}

TEST(Bf16Training, CliRefusesBf16OnACpuWithoutItNamingTheFeature) {
  const fs::path dir = fs::temp_directory_path() / "s3rec_bf16_refused";
  fs::remove_all(dir);
  fs::create_directories(dir);
  Outcome r = s3rec_run("generate --output=" + (dir / "data").string() + " --dataset=tiny --users=60 --items=150 --clusters=4",
                        dir / "gen.txt");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string run = "pretrain --data_path=" + (dir / "data").string() + " --dataset=tiny --pretrain_epochs=1" +
                          " --hidden_size=16 --inner_size=32 --checkpoint_dir=" + (dir / "saved").string() +
                          " --run_dir=" + (dir / "run").string();
  ::setenv("S3REC_DISABLE_BF16", "1", 1);
  r = s3rec_run(run + " --precision=bf16", dir / "out.txt");
  ::unsetenv("S3REC_DISABLE_BF16");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("AVX512_BF16"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir / "saved")) << "refused before any work";
  r = s3rec_run(run + " --precision=fp16", dir / "out.txt");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("precision must be 'fp32' or 'bf16'"), std::string::npos) << r.out;
  if (bf16_supported()) {  // and accepted where the CPU has it
    r = s3rec_run(run + " --precision=bf16", dir / "out.txt");
    EXPECT_EQ(r.code, 0) << r.out;
  }
  fs::remove_all(dir);
}
