#pragma once
// The HTTP/JSON API of `s3rec serve`, as a pure function of the request so it can be
// tested without sockets. Every failure is a 4xx reply with {"error": "..."}.
//   POST /v1/recommend        {"items":[...], "k":10, "exclude_history":true,
//                              "candidates":[...], "attributes":[...]} -> {"items":[...], "scores":[...]}
//   POST /v1/recommend/batch  {"histories":[[...], ...], "k":10, ...} -> {"results":[{"items","scores"}, ...]}
//   GET  /healthz             {"status":"ok"}
//   GET  /v1/model            configuration, vocabulary sizes, checkpoint identity, limits
#include <string>

#include "s3rec/recommender.h"

namespace s3rec::serve {

struct Limits {
  size_t max_body_bytes = 1 << 20;  // larger bodies: 413
  int max_history = 1000;           // longer histories: 400 (the model reads the last max_seq_length)
  int max_batch = 1000;             // more histories in one batch request: 400
};

struct Reply {
  int status = 200;
  std::string body;  // JSON
};

class Api {
 public:
  Api(const Recommender& rec, Limits limits);
  Reply handle(const std::string& method, const std::string& path, const std::string& body) const;
  const Limits& limits() const { return limits_; }

 private:
  Reply recommend(const std::string& body, bool batch) const;
  Reply model_info() const;
  const Recommender& rec_;
  Limits limits_;
  bool numeric_tokens_;  // every item token is a plain integer: items are answered as JSON numbers
};

}  // namespace s3rec::serve
