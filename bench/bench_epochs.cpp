// Whole-epoch timings on a real dataset (Beauty by default): one pre-training epoch,
// one fine-tuning epoch (training only, BCE), one sampled and one full-ranking
// evaluation (validation split), and the process's peak resident memory.
//
// usage: bench_epochs [DATA_PATH=../shared/data] [NAME=Beauty] [THREADS=all] [--json=FILE] [--precision=fp32|bf16]
// (--precision: the products of every phase, as the run option precision=)
// Exits 0 with a message when the dataset is absent.
#include <omp.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "s3rec/dataset.h"
#include "s3rec/evaluation.h"
#include "s3rec/training.h"
#include "tensor/thin_gemm.h"

using namespace s3rec;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_path = "../shared/data", name = "Beauty", json, precision = "fp32";
  int threads = 0, positional = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--json=", 0) == 0) json = a.substr(7);
    else if (a.rfind("--precision=", 0) == 0) precision = a.substr(12);
    else if (positional == 0 && ++positional) data_path = a;
    else if (positional == 1 && ++positional) name = a;
    else if (positional == 2 && ++positional) threads = std::stoi(a);
  }
  if (!std::filesystem::exists(data_path + "/" + name + ".txt")) {
    std::printf("bench_epochs: %s/%s.txt not found, nothing to measure\n", data_path.c_str(), name.c_str());
    return 0;
  }
  if (threads > 0) omp_set_num_threads(threads);
  set_matmul_precision(parse_matmul_precision(precision));
  threads = omp_get_max_threads();
  auto t0 = Clock::now();
  const Dataset d = load_dataset(data_path, name, LoadOptions{});
  const double load_s = seconds_since(t0);
  ModelConfig c;
  c.n_items = d.n_items;
  c.n_attributes = d.n_attributes;
  S3RecModel model(c);
  model.init_weights(1);
  Optimizer adam(model.params(), AdamConfig{});

  PretrainOptions po;
  po.epochs = 1;
  double pre_s = 0;
  long pre_samples = 0;
  pretrain(model, adam, d, po, {}, [&](const PretrainEpoch& e) {
    pre_s = e.seconds;
    pre_samples = e.samples;
  });

  // one fine-tuning epoch, training only: the loop's validation is timed separately below
  Optimizer adam2(model.params(), AdamConfig{});
  FinetuneOptions fo;
  fo.epochs = 1;
  double ft_total = 0;
  t0 = Clock::now();
  finetune(model, adam2, d, fo, {}, [&](const FinetuneEpoch& e) { ft_total = e.seconds; });
  const double ft_with_eval_and_test = seconds_since(t0);
  t0 = Clock::now();
  evaluate(model, d, EvalSplit::Valid, EvalMode::Sampled);
  const double sampled_s = seconds_since(t0);
  t0 = Clock::now();
  evaluate(model, d, EvalSplit::Valid, EvalMode::Full);
  const double full_s = seconds_since(t0);
  const double ft_train_s = ft_total - sampled_s;  // the epoch's seconds include one sampled validation
  (void)ft_with_eval_and_test;

  std::printf("%s, %d threads, %s: load %.2f s\n", name.c_str(), threads, precision.c_str(), load_s);
  std::printf("pre-training epoch   %8.2f s  (%ld samples, %.0f samples/s)\n", pre_s, pre_samples, pre_samples / pre_s);
  std::printf("fine-tuning epoch    %8.2f s  (training only)\n", ft_train_s);
  std::printf("sampled evaluation   %8.2f s  (%d users)\n", sampled_s, d.num_users());
  std::printf("full evaluation      %8.2f s  (%d users x %d items)\n", full_s, d.num_users(), d.n_items);
  std::printf("peak memory          %8.0f MiB\n", peak_rss_mib());
  if (!json.empty()) {
    std::ofstream out(json);
    out << nlohmann::ordered_json{{"dataset", name},          {"threads", threads}, {"precision", precision},
                                  {"pretrain_epoch_s", pre_s}, {"finetune_epoch_s", ft_train_s},
                                  {"sampled_eval_s", sampled_s}, {"full_eval_s", full_s},
                                  {"peak_rss_mib", peak_rss_mib()}}
               .dump(2)
        << "\n";
  }
  return 0;
}
