#include "cli/console_hooks.h"

#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>

#include "s3rec/distributed.h"

namespace s3rec::cli {
namespace {

RunHooks console(std::optional<ProgressBar>& bar, const std::function<void(const nlohmann::json&)>& print_epoch) {
  RunHooks h;
  h.on_batch = [&bar](const std::string& stage, int epoch, long done, long total) {
    if (!dist::is_root()) return;
    if (!bar) bar.emplace(stage + " epoch " + std::to_string(epoch), total);
    bar->update(done);
  };
  h.on_epoch = [&bar, print_epoch](const nlohmann::json& r) {
    if (bar) bar->finish();
    bar.reset();
    print_epoch(r);
    std::fflush(stdout);
  };
  h.on_message = [](const std::string& m) {
    if (dist::is_root()) std::fprintf(stderr, "%s\n", m.c_str());
  };
  return h;
}

}  // namespace

RunHooks ConsoleHooks::pretrain() {
  return console(bar, [](const nlohmann::json& r) {
    const double n = r["samples"].get<double>();
    std::printf("epoch %d: aap %.4f mip %.4f map %.4f sp %.4f (per sample), %.1fs\n", r["epoch"].get<int>(),
                r["aap"].get<double>() / n, r["mip"].get<double>() / n, r["map"].get<double>() / n,
                r["sp"].get<double>() / n, r["seconds"].get<double>());
  });
}

RunHooks ConsoleHooks::finetune() {
  return console(bar, [](const nlohmann::json& e) {
    const std::string metric = e["selection_metric"].get<std::string>();
    char test[48] = "";  // with --log_test: the same metric on the test set
    if (e.contains("test") && e["test"].contains(metric))
      std::snprintf(test, sizeof test, ", test %.4f", e["test"][metric].get<double>());
    std::printf("epoch %d: loss %.4f, valid %s %.4f%s%s, %.1fs\n", e["epoch"].get<int>(), e["loss"].get<double>(),
                metric.c_str(), e["score"].get<double>(), e["improved"].get<bool>() ? " *" : "", test,
                e["seconds"].get<double>());
  });
}

}  // namespace s3rec::cli
