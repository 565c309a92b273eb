// Run configurations: the CLI's loader (YAML files, then key=value overrides, validated).
#include <yaml-cpp/yaml.h>

#include <pybind11/stl.h>

#include "bindings.h"
#include "s3rec/config.h"

namespace py = pybind11;

namespace s3rec::py_bindings {
namespace {

// A YAML scalar as the Python value it reads as: int, float, bool, None or str.
py::object scalar(const YAML::Node& n) {
  const std::string s = n.Scalar();
  if (n.Tag() == "!") return py::str(s);  // quoted
  long i;
  double x;
  bool b;
  if (YAML::convert<long>::decode(n, i)) return py::int_(i);
  if (YAML::convert<double>::decode(n, x)) return py::float_(x);
  if (YAML::convert<bool>::decode(n, b)) return py::bool_(b);
  if (s == "~" || s == "null") return py::none();
  return py::str(s);
}

py::object to_python(const YAML::Node& n) {
  if (n.IsScalar()) return scalar(n);
  if (n.IsSequence()) {
    py::list out;
    for (const auto& x : n) out.append(to_python(x));
    return out;
  }
  if (n.IsMap()) {
    py::dict out;
    for (const auto& kv : n) out[py::str(kv.first.as<std::string>())] = to_python(kv.second);
    return out;
  }
  return py::none();
}

}  // namespace

void bind_config(py::module_& m) {
  py::class_<RunConfig>(m, "Config", "A resolved, validated run configuration (the CLI's keys)")
      .def("to_yaml", [](const RunConfig& c) { return to_yaml(c); }, "the configuration as YAML, loadable again")
      .def("to_dict", [](const RunConfig& c) { return to_python(YAML::Load(to_yaml(c))); })
      .def_readonly("dataset", &RunConfig::dataset)
      .def_readonly("run_dir", &RunConfig::run_dir)
      .def_readonly("checkpoint_dir", &RunConfig::checkpoint_dir);
  m.def("load_config", &load_run_config, py::arg("files"), py::arg("overrides"),
        "defaults, then the YAML files in order, then the (key, value-as-text) overrides; validated");
  m.def("config_keys", &config_keys, "every accepted key");
}

}  // namespace s3rec::py_bindings
