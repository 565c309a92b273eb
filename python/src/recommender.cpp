// Serving from Python: batched recommendations as arrays, and checkpoints' tensors and
// metadata as numpy arrays and dicts.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cmath>

#include "bindings.h"
#include "s3rec/checkpoint.h"
#include "s3rec/recommender.h"
#include "s3rec/safetensors.h"

namespace py = pybind11;

namespace s3rec::py_bindings {
namespace {

// Every F32 tensor of a safetensors file, by name, as float32 arrays of its shape (the
// parameters: a large vocabulary's vocabulary.* tensors are left out).
py::dict read_tensors(const std::string& path) {
  const StReader f(path);
  py::dict out;
  for (const auto& [name, t] : f.tensors()) {
    if (name.starts_with("vocabulary.")) continue;  // a large catalogue's names, not parameters
    if (t.dtype != "F32") throw std::runtime_error(path + ": tensor " + name + " is " + t.dtype + ", not F32");
    std::vector<py::ssize_t> shape(t.shape.begin(), t.shape.end());
    py::array_t<float> a(shape);
    f.read_into(name, a.mutable_data());
    out[py::str(name)] = a;
  }
  return out;
}

// Tokens 1..N of a table (without "[PAD]").
std::vector<std::string> tokens_after_pad(const TokenTable& t) {
  std::vector<std::string> out;
  out.reserve(t.size() > 0 ? t.size() - 1 : 0);
  for (size_t i = 1; i < t.size(); ++i) out.push_back(t[i]);
  return out;
}

// The items' ids as int64 [N] when every token is an integer, else None: a 10M-item
// catalogue's ids without 10M Python strings.
py::object integer_item_ids(const Recommender& r) {
  const TokenTable& t = r.vocabulary().item_tokens;
  if (!t.integers()) return py::none();
  py::array_t<int64_t> a(py::ssize_t(t.count()));
  int64_t* p = a.mutable_data();
  if (t.is_numbered())
    for (int i = 1; i <= t.count(); ++i) p[i - 1] = i;
  else
    for (int i = 1; i <= t.count(); ++i) p[i - 1] = std::stoll(t[size_t(i)]);
  return a;
}

// k best of each history: (tokens [B][k], scores float32 [B x k]); short answers padded
// with "" and NaN.
py::tuple recommend(const Recommender& r, const std::vector<std::vector<std::string>>& histories, int k,
                    bool exclude_history, const std::optional<std::vector<std::string>>& candidates,
                    const std::optional<std::vector<std::string>>& attributes) {
  RecommendOptions o;
  o.exclude_history = exclude_history;
  if (candidates) {
    if (candidates->empty()) throw RequestError("candidates is empty");
    o.candidates = *candidates;
  }
  if (attributes) {
    if (attributes->empty()) throw RequestError("attributes is empty");
    o.attributes = *attributes;
  }
  std::vector<Recommendation> recs;
  {
    py::gil_scoped_release free;
    recs = r.recommend_batch(histories, k, o);
  }
  py::array_t<float> scores({py::ssize_t(histories.size()), py::ssize_t(k)});
  float* s = scores.mutable_data();
  std::vector<std::vector<std::string>> items(histories.size(), std::vector<std::string>(size_t(k)));
  for (size_t b = 0; b < recs.size(); ++b)
    for (int j = 0; j < k; ++j) {
      const bool have = size_t(j) < recs[b].items.size();
      items[b][size_t(j)] = have ? recs[b].items[size_t(j)] : "";
      s[b * size_t(k) + size_t(j)] = have ? recs[b].scores[size_t(j)] : NAN;
    }
  return py::make_tuple(items, scores);
}

}  // namespace

void bind_recommender(py::module_& m) {
  py::class_<Recommender>(m, "Recommender")
      .def(py::init([](const std::string& path, const std::string& index) {
             IndexOptions o;
             o.kind = index;
             py::gil_scoped_release free;
             return std::make_unique<Recommender>(path, nullptr, o);
           }),
           py::arg("path"), py::arg("index") = "exact")
      .def("recommend", &recommend, py::arg("histories"), py::arg("k"), py::arg("exclude_history"),
           py::arg("candidates"), py::arg("attributes"))
      .def_property_readonly("item_tokens", [](const Recommender& r) { return tokens_after_pad(r.vocabulary().item_tokens); })
      .def_property_readonly("attribute_tokens",
                             [](const Recommender& r) { return tokens_after_pad(r.vocabulary().attribute_tokens); })
      .def_property_readonly("integer_item_ids", &integer_item_ids)
      .def_property_readonly("path", &Recommender::model_path)
      .def_property_readonly("n_items", [](const Recommender& r) { return r.config().n_items; })
      .def_property_readonly("max_seq_length", [](const Recommender& r) { return r.config().max_seq_length; });

  m.def("read_tensors", &read_tensors, py::arg("path"), "a safetensors file's F32 tensors as numpy arrays");
  m.def("checkpoint_metadata", [](const std::string& path) { return StReader(path).metadata(); }, py::arg("path"));
}

}  // namespace s3rec::py_bindings
