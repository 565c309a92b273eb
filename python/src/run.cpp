// Training and evaluation runs with the GIL released. Progress and epoch records reach
// Python callbacks; every batch checks for signals, so Ctrl-C (KeyboardInterrupt)
// stops a run between two batches, leaving the checkpoints already written intact.
#include <pybind11/stl.h>

#include "bindings.h"
#include "s3rec/run.h"

namespace py = pybind11;

namespace s3rec::py_bindings {
namespace {

template <class Json>  // nlohmann::json or ordered_json (keys in insertion order)
py::object json_to_python(const Json& j) {
  return py::module_::import("json").attr("loads")(j.dump());
}

// Callbacks (callables or None): progress(stage, epoch, done, total), on_epoch(record), on_message(text).
// Called with the GIL held; a Python exception (KeyboardInterrupt included) leaves the run.
RunHooks python_hooks(const py::object& progress, const py::object& on_epoch, const py::object& on_message) {
  RunHooks h;
  h.on_batch = [progress](const std::string& stage, int epoch, long done, long total) {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    if (!progress.is_none()) progress(stage, epoch, done, total);
  };
  h.on_epoch = [on_epoch](const nlohmann::json& record) {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    if (!on_epoch.is_none()) on_epoch(json_to_python(record));
  };
  h.on_message = [on_message](const std::string& text) {
    py::gil_scoped_acquire gil;
    if (!on_message.is_none()) on_message(text);
  };
  return h;
}

py::object metrics(const Metrics& valid, const Metrics& test, const nlohmann::json& extra = {}) {
  return json_to_python(results_json(valid, test, extra));
}

// A training run: open the run directory and run `train` without the GIL.
template <class Train>
auto run_without_gil(const RunConfig& c, const Dataset& d, const char* stage, const RunHooks& h, Train train,
                     std::string& run_dir) {
  py::gil_scoped_release free;
  run_dir = open_run_dir(c, d, stage);
  return train(c, d, run_dir, h);
}

}  // namespace

void bind_run(py::module_& m) {
  m.def("pretrain", [](const RunConfig& c, const Dataset& d, py::object progress, py::object on_epoch,
                       py::object on_message) {
    std::string run_dir;
    const PretrainRunResult r =
        run_without_gil(c, d, "pretrain", python_hooks(progress, on_epoch, on_message), run_pretrain, run_dir);
    py::dict out;
    out["checkpoints"] = r.checkpoints;
    out["checkpoint"] = r.checkpoints.empty() ? py::object(py::none()) : py::object(py::str(r.checkpoints.back()));
    out["epochs"] = r.epochs;
    out["run_dir"] = run_dir;
    return out;
  }, py::arg("config"), py::arg("dataset"), py::arg("progress"), py::arg("on_epoch"), py::arg("on_message"));

  m.def("finetune", [](const RunConfig& c, const Dataset& d, py::object progress, py::object on_epoch,
                       py::object on_message) {
    std::string run_dir;
    const FinetuneRunResult r =
        run_without_gil(c, d, "finetune", python_hooks(progress, on_epoch, on_message), run_finetune, run_dir);
    return metrics(r.valid, r.test,
                   {{"model", r.model_path}, {"best_epoch", r.best_epoch}, {"epochs_run", r.epochs_run},
                    {"run_dir", run_dir}});
  }, py::arg("config"), py::arg("dataset"), py::arg("progress"), py::arg("on_epoch"), py::arg("on_message"));

  m.def("evaluate", [](const RunConfig& c, const Dataset& d) {
    EvaluateRunResult r;
    {
      py::gil_scoped_release free;
      r = run_evaluate(c, d);
    }
    return metrics(r.valid, r.test);
  }, py::arg("config"), py::arg("dataset"));
}

}  // namespace s3rec::py_bindings
