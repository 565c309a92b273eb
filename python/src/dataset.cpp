// Datasets: the two file formats (through the run configuration's keys) and interactions
// held in memory, prepared as `s3rec prepare` prepares a file.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cmath>
#include <filesystem>

#include "bindings.h"
#include "s3rec/prepare.h"
#include "s3rec/run.h"
#include "s3rec/synthetic.h"

namespace py = pybind11;

namespace s3rec::py_bindings {
namespace {

py::dict report_dict(const LoadReport& r) {
  py::dict d;
  d["users_skipped_short"] = r.users_skipped_short;
  d["warnings"] = r.warnings;
  return d;
}

py::dict stats_dict(const PrepareStats& s) {
  py::dict d;
  d["users"] = s.users;
  d["items"] = s.items;
  d["actions"] = s.actions;
  d["attributes"] = s.attributes;
  d["avg_actions_per_user"] = s.avg_actions_per_user;
  d["avg_actions_per_item"] = s.avg_actions_per_item;
  d["sparsity"] = s.sparsity;
  d["avg_attributes_per_item"] = s.avg_attributes_per_item;
  d["items_without_attributes"] = s.items_without_attributes;
  d["rows_read"] = s.rows_read;
  d["duplicates_dropped"] = s.duplicates_dropped;
  d["users_removed"] = s.users_removed;
  d["items_removed"] = s.items_removed;
  d["actions_removed"] = s.actions_removed;
  d["kcore_rounds"] = s.kcore_rounds;
  return d;
}

// Rows as codes into lists of distinct tokens (what pandas.factorize gives).
std::vector<Interaction> rows_from_codes(py::array_t<int64_t, py::array::c_style | py::array::forcecast> users,
                                         const std::vector<std::string>& user_tokens,
                                         py::array_t<int64_t, py::array::c_style | py::array::forcecast> items,
                                         const std::vector<std::string>& item_tokens, const py::object& times) {
  if (users.ndim() != 1 || items.ndim() != 1 || users.size() != items.size())
    throw std::invalid_argument("users and items must be 1-D and of the same length (got " +
                                std::to_string(users.size()) + " and " + std::to_string(items.size()) + ")");
  const long n = long(users.size());
  std::vector<double> t;
  if (!times.is_none()) {
    const auto ta = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(times);
    if (!ta || ta.ndim() != 1 || ta.size() != n)
      throw std::invalid_argument("timestamps must be numbers, one per interaction (" + std::to_string(n) + ")");
    t.assign(ta.data(), ta.data() + n);
  }
  const int64_t* u = users.data();
  const int64_t* it = items.data();
  std::vector<Interaction> rows;
  rows.reserve(size_t(n));
  for (long r = 0; r < n; ++r) {
    if (u[r] < 0 || u[r] >= int64_t(user_tokens.size()) || it[r] < 0 || it[r] >= int64_t(item_tokens.size()))
      throw std::invalid_argument("interaction " + std::to_string(r) + ": missing user or item");
    if (!t.empty() && !std::isfinite(t[size_t(r)]))
      throw std::invalid_argument("interaction " + std::to_string(r) + ": timestamp is not a finite number");
    rows.push_back({user_tokens[size_t(u[r])], item_tokens[size_t(it[r])], t.empty() ? 0.0 : t[size_t(r)], r + 1});
  }
  return rows;
}

}  // namespace

void bind_dataset(py::module_& m) {
  py::class_<Dataset>(m, "Dataset", "An in-memory dataset: users' chronological item sequences and item attributes")
      .def_readonly("name", &Dataset::name)
      .def_readonly("n_items", &Dataset::n_items)
      .def_readonly("n_attributes", &Dataset::n_attributes)
      .def_property_readonly("n_users", &Dataset::num_users)
      .def_property_readonly("n_actions", &Dataset::num_actions)
      .def_readonly("user_tokens", &Dataset::user_tokens)
      .def_property_readonly("item_tokens", [](const Dataset& d) {
        std::vector<std::string> out;
        for (int i = 1; i <= d.n_items; ++i) out.push_back(d.item_token(i));
        return out;
      })
      .def_property_readonly("attribute_tokens", [](const Dataset& d) {
        std::vector<std::string> out;
        for (int a = 1; a <= d.n_attributes; ++a)
          out.push_back(size_t(a) < d.attribute_tokens.size() ? d.attribute_tokens[size_t(a)] : std::to_string(a));
        return out;
      })
      .def("sequence", [](const Dataset& d, int u) {
        if (u < 0 || u >= d.num_users()) throw py::index_error("user row out of range");
        const auto& s = d.user_seqs[size_t(u)];
        return py::array_t<int32_t>(py::ssize_t(s.size()), s.data());
      }, py::arg("user"), "item ids (1..n_items) of user row `user`, oldest first")
      .def("item_attributes", [](const Dataset& d, int item) {
        if (item < 1 || item > d.n_items) throw py::index_error("item id out of range 1..n_items");
        const auto a = d.item_attributes.of(item);
        return py::array_t<int32_t>(py::ssize_t(a.size()), a.data());
      }, py::arg("item"), "attribute ids (1..n_attributes) of item id `item`")
      .def_readonly("sample_source", &Dataset::sample_source)
      .def("write", [](const Dataset& d, const std::string& dir) {
        py::gil_scoped_release free;
        Dataset numbered = d;  // the reference format numbers users and items (as `s3rec prepare` writes it)
        for (int u = 0; u < numbered.num_users(); ++u) numbered.user_tokens[size_t(u)] = std::to_string(u + 1);
        numbered.item_tokens.clear();
        std::filesystem::create_directories(dir);
        write_reference_format(dir, numbered);
      }, py::arg("directory"), "DIR/NAME.txt, NAME_item2attributes.json, NAME_sample.txt (reference format)");

  m.def("load_dataset", [](const RunConfig& c) {
    LoadReport rep;
    Dataset d;
    {
      py::gil_scoped_release free;
      d = load_run_dataset(c, &rep);
    }
    return py::make_tuple(std::move(d), report_dict(rep));
  }, py::arg("config"), "reads data_path/dataset as the CLI does: (Dataset, report)");

  m.def("prepare_interactions",
        [](py::array_t<int64_t, py::array::c_style | py::array::forcecast> users,
           const std::vector<std::string>& user_tokens,
           py::array_t<int64_t, py::array::c_style | py::array::forcecast> items,
           const std::vector<std::string>& item_tokens, const py::object& times, const RawAttributes& attributes,
           const std::string& name, int k, bool dedup, uint64_t seed) {
          PrepareOptions o;
          o.input = "interactions";
          o.dataset = name;
          o.k = k;
          o.dedup = dedup;
          o.seed = seed;
          std::vector<Interaction> rows = rows_from_codes(users, user_tokens, items, item_tokens, times);
          Prepared p;
          {
            py::gil_scoped_release free;
            p.stats.rows_read = long(rows.size());
            prepare_interactions(std::move(rows), attributes, o, p);
          }
          return py::make_tuple(std::move(p.data), stats_dict(p.stats), p.problems);
        },
        py::arg("users"), py::arg("user_tokens"), py::arg("items"), py::arg("item_tokens"), py::arg("times"),
        py::arg("attributes"), py::arg("name"), py::arg("k"), py::arg("dedup"), py::arg("seed"),
        "interactions as codes into token lists -> (Dataset, statistics, problems), ids as `s3rec prepare` assigns");
}

}  // namespace s3rec::py_bindings
