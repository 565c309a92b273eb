// `s3rec convert --from=pt FILE.pt --to=OUT.safetensors`: a PyTorch state_dict of the
// authors' S3RecModel -> an s3rec checkpoint. The .pt file (a zip of pickles) is read
// by python3 with PyTorch (Debian's python3-torch), needed for this command only:
// torch.load(weights_only=True) in a child process writes the tensors as a
// safetensors file, which import_state_dict checks and turns into the checkpoint.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "cli/commands.h"
#include "s3rec/config.h"
#include "s3rec/state_dict_import.h"

namespace s3rec::cli {
namespace {

// argv: SOURCE OUT. Exit 0 with the tensors in OUT; otherwise one line on stdout says why.
const char* kReader = R"PY(
import json, struct, sys
src, out = sys.argv[1], sys.argv[2]
try:
    import torch
except ImportError as e:
    print(f"reading .pt files needs PyTorch, which this python3 cannot import ({e}); "
          "install Debian's python3-torch (S3REC_WITH_TORCH=1 scripts/setup.sh)")
    sys.exit(3)
try:
    obj = torch.load(src, map_location="cpu", weights_only=True)
except Exception as e:
    print(f"{src}: not a PyTorch file torch.load can read as weights ({type(e).__name__}: {str(e).splitlines()[0]})")
    sys.exit(4)
for key in ("state_dict", "model_state_dict"):
    if isinstance(obj, dict) and isinstance(obj.get(key), dict):
        obj = obj[key]
if not isinstance(obj, dict):
    print(f"{src}: holds a {type(obj).__name__}, expected a state_dict (tensor names -> tensors)")
    sys.exit(4)
names = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
         torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
         torch.bool: "BOOL"}
header, blobs, offset = {}, [], 0
for name, t in obj.items():
    if not isinstance(t, torch.Tensor):
        print(f"{src}: entry {name} is a {type(t).__name__}, not a tensor")
        sys.exit(4)
    if t.dtype not in names:
        print(f"{src}: tensor {name} has dtype {t.dtype}, which s3rec cannot read")
        sys.exit(4)
    t = t.detach().cpu().contiguous()
    blob = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
    header[str(name)] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
    blobs.append(blob)
    offset += len(blob)
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    for b in blobs:
        f.write(b)
)PY";

// Runs the reader with `python`; returns its exit code and what it printed.
int run_reader(const std::string& python, const std::string& src, const std::string& out, std::string& said) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("convert: cannot create a pipe");
  std::fflush(stdout);  // nothing buffered twice
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("convert: cannot start " + python);
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execlp(python.c_str(), python.c_str(), "-c", kReader, src.c_str(), out.c_str(), static_cast<char*>(nullptr));
    std::printf("cannot run %s: reading .pt files needs python3 with PyTorch (Debian's python3-torch)\n",
                python.c_str());
    std::fflush(stdout);
    _exit(127);
  }
  close(fds[1]);
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) said.append(buf, size_t(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  while (!said.empty() && (said.back() == '\n' || said.back() == '\r')) said.pop_back();
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

}  // namespace

int cmd_convert(const Args& a) {
  if (a.help) {
    std::printf(
        "usage: s3rec convert --from=pt FILE.pt --to=OUT.safetensors [--n_heads=2] [--hidden_act=gelu]\n"
        "                     [--layer_norm_eps=1e-12] [--hidden_dropout_prob=0.5] [--attn_dropout_prob=0.5]\n"
        "Imports a state_dict of the reference code's S3RecModel (torch.save(model.state_dict(), FILE.pt)) as an\n"
        "s3rec checkpoint for finetune --pre_model_path=OUT.safetensors. Sizes come from the tensors; the\n"
        "settings they cannot tell are the keys above (the reference code's defaults). Needs python3 with\n"
        "PyTorch (Debian's python3-torch; S3REC_PYTHON=PATH picks the interpreter).\n");
    return 0;
  }
  std::vector<std::pair<std::string, std::string>> model_keys;
  std::string from, to;
  for (const auto& [k, v] : a.kv) {
    if (k == "from") from = v;
    else if (k == "to") to = v;
    else if (k == "n_heads" || k == "hidden_act" || k == "layer_norm_eps" || k == "hidden_dropout_prob" ||
             k == "attn_dropout_prob" || k == "initializer_range")
      model_keys.emplace_back(k, v);
    else throw std::invalid_argument("convert: unknown option --" + k);
  }
  if (from != "pt") throw std::invalid_argument("convert: --from=pt is the one source format (got '" + from + "')");
  if (a.positional.size() != 1) throw std::invalid_argument("convert: name one input file: s3rec convert --from=pt FILE.pt --to=OUT");
  if (to.empty()) throw std::invalid_argument("convert: --to=OUT.safetensors is required");
  const std::string src = a.positional[0];
  if (!std::filesystem::exists(src)) throw std::runtime_error(src + ": no such file");
  const RunConfig rc = load_run_config({}, model_keys);  // the keys' validation and defaults
  const std::string tmp = to + ".tensors.tmp";
  // S3REC_PYTHON, else python3 on PATH (an active venv's), then Debian's when that one lacks torch
  const char* env = std::getenv("S3REC_PYTHON");
  std::vector<std::string> pythons = {env && *env ? env : "python3"};
  if (!(env && *env) && std::filesystem::exists("/usr/bin/python3")) pythons.push_back("/usr/bin/python3");
  std::string said;
  int code = 0;
  for (const std::string& python : pythons) {
    said.clear();
    code = run_reader(python, src, tmp, said);
    if (code != 3 && code != 127) break;  // 3: no torch there, 127: no such interpreter
  }
  if (code != 0) {
    std::filesystem::remove(tmp);
    throw std::runtime_error(said.empty() ? src + ": the PyTorch reader failed (exit " + std::to_string(code) + ")"
                                          : said);
  }
  ModelConfig c;
  try {
    c = import_state_dict(tmp, src, rc.model_config(0, 0), to);
  } catch (...) {
    std::filesystem::remove(tmp);
    throw;
  }
  std::filesystem::remove(tmp);
  std::printf("wrote %s: %d items, %d attributes, d=%d, %d layers, %d heads, max length %d\n", to.c_str(), c.n_items,
              c.n_attributes, c.hidden_size, c.n_layers, c.n_heads, c.max_seq_length);
  return 0;
}

}  // namespace s3rec::cli
