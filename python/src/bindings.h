#pragma once
// The parts of the s3rec._core extension, each registered by its own file.
#include <pybind11/pybind11.h>

namespace s3rec::py_bindings {

void bind_config(pybind11::module_& m);       // Config, load_config
void bind_dataset(pybind11::module_& m);      // Dataset, load_dataset, prepare_interactions
void bind_run(pybind11::module_& m);          // pretrain, finetune, evaluate
void bind_recommender(pybind11::module_& m);  // Recommender, read_tensors, checkpoint_metadata

}  // namespace s3rec::py_bindings
