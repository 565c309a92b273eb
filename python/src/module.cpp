// s3rec._core: the C++ library for Python. C++ exceptions become Python ones with the
// messages the CLI prints: ConfigError, DataError and RequestError are ValueErrors,
// NonFiniteError a RuntimeError, other failures (files, checkpoints) RuntimeError.
#include <pybind11/pybind11.h>

#include "bindings.h"
#include "s3rec/config.h"
#include "s3rec/dataset.h"
#include "s3rec/recommender.h"
#include "s3rec/training.h"

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
  m.doc() = "s3rec's C++ core; use the s3rec package, which wraps it";
  py::register_exception<s3rec::ConfigError>(m, "ConfigError", PyExc_ValueError);
  py::register_exception<s3rec::DataError>(m, "DataError", PyExc_ValueError);
  py::register_exception<s3rec::RequestError>(m, "RequestError", PyExc_ValueError);
  py::register_exception<s3rec::NonFiniteError>(m, "NonFiniteError", PyExc_RuntimeError);
  s3rec::py_bindings::bind_config(m);
  s3rec::py_bindings::bind_dataset(m);
  s3rec::py_bindings::bind_run(m);
  s3rec::py_bindings::bind_recommender(m);
}
