#include "serve/http_api.h"

#include <nlohmann/json.hpp>

#include "s3rec/checkpoint.h"

namespace s3rec::serve {

namespace {

using nlohmann::json;

// Reply text. Bytes that are not UTF-8 (a request path, a parser's message quoting the
// body, a dataset's raw tokens) become U+FFFD instead of making dump() throw.
std::string text(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

Reply error(int status, const std::string& message) { return {status, text(json{{"error", message}})}; }

// An item list given as JSON strings and/or integers -> tokens. `what` names the field.
std::vector<std::string> tokens_of(const json& v, const std::string& what, size_t max_len) {
  if (!v.is_array()) throw RequestError("'" + what + "' must be an array of item ids");
  if (v.size() > max_len)
    throw RequestError("'" + what + "' has " + std::to_string(v.size()) + " entries, at most " +
                       std::to_string(max_len) + " are allowed");
  std::vector<std::string> out;
  out.reserve(v.size());
  for (const json& x : v) {
    if (x.is_string())
      out.push_back(x.get<std::string>());
    else if (x.is_number_integer())
      out.push_back(std::to_string(x.get<long long>()));
    else
      throw RequestError("'" + what + "' must hold strings or integers, found " + std::string(x.type_name()));
  }
  return out;
}

}  // namespace

Api::Api(const Recommender& rec, Limits limits)
    : rec_(rec), limits_(limits), numeric_tokens_(rec.vocabulary().item_tokens.integers()) {}

Reply Api::handle(const std::string& method, const std::string& path, const std::string& body) const {
  if (path == "/healthz") return method == "GET" ? Reply{200, R"({"status":"ok"})"} : error(405, "use GET");
  if (path == "/v1/model") return method == "GET" ? model_info() : error(405, "use GET");
  if (path == "/v1/recommend" || path == "/v1/recommend/batch") {
    if (method != "POST") return error(405, "use POST with a JSON body");
    if (body.size() > limits_.max_body_bytes)
      return error(413, "body of " + std::to_string(body.size()) + " bytes exceeds " +
                            std::to_string(limits_.max_body_bytes));
    return recommend(body, path == "/v1/recommend/batch");
  }
  return error(404, "no such endpoint: " + path);
}

Reply Api::recommend(const std::string& body, bool batch) const {
  json req;
  try {
    req = json::parse(body);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number beyond double (1e400)
    return error(400, std::string("malformed JSON: ") + e.what());
  }
  try {
    if (!req.is_object()) throw RequestError("the body must be a JSON object");
    for (const auto& [key, v] : req.items())
      if (key != "k" && key != "exclude_history" && key != "candidates" && key != "attributes" &&
          key != (batch ? "histories" : "items"))
        throw RequestError("unknown field '" + key + "'");
    int k = 10;
    if (req.contains("k")) {
      if (!req["k"].is_number_integer()) throw RequestError("'k' must be an integer");
      const long long kk = req["k"].get<long long>();
      if (kk < 1 || kk > rec_.config().n_items)
        throw RequestError("'k' must be in 1.." + std::to_string(rec_.config().n_items));
      k = int(kk);
    }
    RecommendOptions o;
    if (req.contains("exclude_history")) {
      if (!req["exclude_history"].is_boolean()) throw RequestError("'exclude_history' must be true or false");
      o.exclude_history = req["exclude_history"].get<bool>();
    }
    if (req.contains("candidates")) o.candidates = tokens_of(req["candidates"], "candidates", size_t(rec_.config().n_items));
    if (req.contains("attributes")) {
      const json& a = req["attributes"];
      if (!a.is_array()) throw RequestError("'attributes' must be an array");
      for (const json& x : a) {
        if (x.is_string()) o.attributes.push_back(x.get<std::string>());
        else if (x.is_number_integer()) o.attributes.push_back(std::to_string(x.get<long long>()));
        else throw RequestError("'attributes' must hold strings or integers");
      }
    }
    std::vector<std::vector<std::string>> histories;
    if (batch) {
      if (!req.contains("histories")) throw RequestError("missing field 'histories'");
      const json& hs = req["histories"];
      if (!hs.is_array()) throw RequestError("'histories' must be an array of item arrays");
      if (hs.empty()) throw RequestError("'histories' is empty");
      if (hs.size() > size_t(limits_.max_batch))
        throw RequestError("'histories' has " + std::to_string(hs.size()) + " entries, at most " +
                           std::to_string(limits_.max_batch) + " are allowed");
      for (size_t i = 0; i < hs.size(); ++i)
        histories.push_back(tokens_of(hs[i], "histories[" + std::to_string(i) + "]", size_t(limits_.max_history)));
    } else {
      if (!req.contains("items")) throw RequestError("missing field 'items'");
      histories.push_back(tokens_of(req["items"], "items", size_t(limits_.max_history)));
    }
    const auto recs = rec_.recommend_batch(histories, k, o);
    auto render = [&](const Recommendation& r) {
      json items = json::array();
      for (const auto& t : r.items) {
        if (numeric_tokens_) items.push_back(std::stoll(t));
        else items.push_back(t);
      }
      return json{{"items", std::move(items)}, {"scores", r.scores}};
    };
    if (!batch) return {200, text(render(recs.front()))};
    json results = json::array();
    for (const auto& r : recs) results.push_back(render(r));
    return {200, text(json{{"results", std::move(results)}})};
  } catch (const RequestError& e) {
    return error(400, e.what());
  } catch (const json::exception& e) {
    return error(400, std::string("bad request: ") + e.what());
  }
}

Reply Api::model_info() const {
  const ModelConfig& c = rec_.config();
  json j = {{"model_path", rec_.model_path()},
            {"checkpoint", rec_.checkpoint_identity()},
            {"config", json::parse(model_config_json(c))},
            {"n_items", c.n_items},
            {"n_attributes", c.n_attributes},
            {"limits",
             {{"max_body_bytes", limits_.max_body_bytes},
              {"max_history", limits_.max_history},
              {"max_batch", limits_.max_batch}}}};
  j["index"] = {{"kind", rec_.index_kind()}};
  if (const ItemIndex* x = rec_.index()) {
    const IndexOptions& o = x->options();
    j["index"]["source"] = rec_.index_built() ? "built at start-up" : "loaded";
    j["index"]["seconds"] = rec_.index_seconds();
    j["index"]["memory_bytes"] = x->memory_bytes();
    if (o.kind == "hnsw") j["index"]["ef_search"] = o.ef_search, j["index"]["hnsw_m"] = o.hnsw_m;
    else j["index"]["nlist"] = o.nlist, j["index"]["nprobe"] = o.nprobe;
  }
  return {200, text(j)};
}

}  // namespace s3rec::serve
