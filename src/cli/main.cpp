// s3rec: S3-Rec and SASRec training, evaluation and data tools.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>

#include "cli/commands.h"
#include "s3rec/distributed.h"

namespace {

const char* kUsage =
    "usage: s3rec COMMAND [--key=value ...]\n"
    "commands:\n"
    "  pretrain   pre-train S3-Rec (AAP, MIP, MAP, SP) and write checkpoints\n"
    "  finetune   fine-tune for next-item prediction (SASRec without --pre_model_path)\n"
    "  evaluate   evaluate a saved model (--model_path) with --eval_mode=sampled|full\n"
    "  run        RecBole style: --train_stage=pretrain|finetune\n"
    "  generate   write a synthetic dataset in the reference format\n"
    "  recommend  next-item recommendations from a trained model (one history, a user, a file)\n"
    "  serve      HTTP/JSON recommendation server\n"
    "  prepare    raw interaction logs and attribute tables -> reference-format dataset\n"
    "  tune       hyper-parameter search (RecBole HyperTuning style params file)\n"
    "  index      `index build`: a faiss index of a model's items for serve --index=hnsw|ivf\n"
    "  convert    --from=pt FILE.pt --to=OUT.safetensors: a PyTorch state_dict of the reference model\n"
    "Every command takes --help. Configuration: --config_files=a.yaml,b.yaml and --key=value.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace s3rec::cli;
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  // past a file-size limit (ulimit -f) a write fails with EFBIG and is reported with the
  // file's name, instead of the signal killing the process
  std::signal(SIGXFSZ, SIG_IGN);
  s3rec::dist::init(&argc, &argv);
  struct Finalize {
    ~Finalize() { s3rec::dist::finalize(); }
  } finalize_at_exit;
  if (!s3rec::dist::is_root() && !std::freopen("/dev/null", "w", stdout)) return 1;  // rank 0 reports
  try {
    if (s3rec::dist::size() > 1 && cmd != "pretrain" && cmd != "finetune" && cmd != "evaluate" && cmd != "run")
      throw std::invalid_argument("only pretrain, finetune, evaluate and run are data-parallel; start '" + cmd +
                                  "' without mpirun");
    if (cmd == "index") {  // s3rec index ACTION --key=value ...
      const bool has_action = argc > 2 && argv[2][0] != '-';
      return cmd_index(parse_args(argc, argv, has_action ? 3 : 2), has_action ? argv[2] : "");
    }
    const Args a = parse_args(argc, argv, 2, cmd == "convert");
    if (cmd == "pretrain") return cmd_pretrain(a);
    if (cmd == "finetune") return cmd_finetune(a);
    if (cmd == "evaluate") return cmd_evaluate(a);
    if (cmd == "run") return cmd_run(a);
    if (cmd == "generate") return cmd_generate(a);
    if (cmd == "recommend") return cmd_recommend(a);
    if (cmd == "serve") return cmd_serve(a);
    if (cmd == "prepare") return cmd_prepare(a);
    if (cmd == "tune") return cmd_tune(a);
    if (cmd == "convert") return cmd_convert(a);
    std::fprintf(stderr, "s3rec: unknown command '%s'\n%s", cmd.c_str(), kUsage);
    return 2;
  } catch (const std::exception& e) {
    if (s3rec::dist::size() > 1) {  // the other ranks may be waiting in a collective: end them all
      std::fprintf(stderr, "s3rec %s: error on rank %d of %d: %s\ns3rec %s: stopping all ranks (MPI_Abort)\n",
                   cmd.c_str(), s3rec::dist::rank(), s3rec::dist::size(), e.what(), cmd.c_str());
      std::fflush(stderr);
      s3rec::dist::abort_job(1);
    }
    std::fprintf(stderr, "s3rec %s: error: %s\n", cmd.c_str(), e.what());
    return 1;
  }
}
