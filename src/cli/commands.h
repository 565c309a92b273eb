#pragma once
// The s3rec subcommands. Each takes the arguments after its name and returns an exit code.
#include <string>
#include <utility>
#include <vector>

#include "s3rec/config.h"
#include "s3rec/dataset.h"

namespace s3rec::cli {

struct Args {
  std::vector<std::pair<std::string, std::string>> kv;  // --key=value in order
  std::vector<std::string> positional;  // arguments without --, where the command takes them
  bool help = false;
  std::string get(const std::string& key, const std::string& fallback = "") const;
  bool has(const std::string& key) const;
};
// Throws std::invalid_argument; an argument without -- is one only with allow_positional.
Args parse_args(int argc, char** argv, int first, bool allow_positional = false);

// --config_files=a.yaml,b.yaml and the --key=value overrides, in order; --json=FILE aside.
struct ConfigArgs {
  std::vector<std::string> files;
  std::vector<std::pair<std::string, std::string>> over;
  std::string json_path;
};
ConfigArgs split_config_args(const Args& a);

// The run's dataset, its warnings and a one-line summary printed on stderr (rank 0).
Dataset load_reported_dataset(const RunConfig& c);

int cmd_pretrain(const Args& a);
int cmd_finetune(const Args& a);
int cmd_evaluate(const Args& a);
int cmd_run(const Args& a);
int cmd_generate(const Args& a);
int cmd_recommend(const Args& a);
int cmd_serve(const Args& a);
int cmd_prepare(const Args& a);
int cmd_tune(const Args& a);
int cmd_convert(const Args& a);  // s3rec convert --from=pt FILE.pt --to=OUT.safetensors
int cmd_index(const Args& a, const std::string& action);  // s3rec index build

}  // namespace s3rec::cli
