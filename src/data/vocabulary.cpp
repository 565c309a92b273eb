#include "s3rec/vocabulary.h"

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace s3rec {

Vocabulary Vocabulary::from_dataset(const Dataset& d) {
  Vocabulary v;
  v.item_tokens = d.item_tokens;
  v.attribute_tokens = d.attribute_tokens;
  v.item_attributes = d.item_attributes.to_lists();
  v.item_tokens.resize(size_t(d.n_items) + 1);
  v.item_tokens[0] = "[PAD]";
  v.attribute_tokens.resize(size_t(d.n_attributes) + 1);
  v.item_attributes.resize(size_t(d.n_items) + 1);
  for (int i = 1; i <= d.n_items; ++i)
    if (v.item_tokens[i].empty()) v.item_tokens[i] = std::to_string(i);
  for (int a = 1; a <= d.n_attributes; ++a)
    if (v.attribute_tokens[a].empty()) v.attribute_tokens[a] = std::to_string(a);
  v.index();
  return v;
}

Vocabulary Vocabulary::identity(int n_items, int n_attributes) {
  Vocabulary v;
  v.item_tokens.resize(size_t(n_items) + 1);
  v.attribute_tokens.resize(size_t(n_attributes) + 1);
  v.item_attributes.resize(size_t(n_items) + 1);
  for (int i = 1; i <= n_items; ++i) v.item_tokens[i] = std::to_string(i);
  for (int a = 1; a <= n_attributes; ++a) v.attribute_tokens[a] = std::to_string(a);
  v.item_tokens[0] = v.attribute_tokens[0] = "[PAD]";
  v.index();
  return v;
}

std::map<std::string, std::string> Vocabulary::to_metadata() const {
  return {{"item_tokens", nlohmann::json(item_tokens).dump()},
          {"attribute_tokens", nlohmann::json(attribute_tokens).dump()},
          {"item_attributes", nlohmann::json(item_attributes).dump()}};
}

bool Vocabulary::from_metadata(const std::map<std::string, std::string>& meta, const std::string& source) {
  const auto it = meta.find("item_tokens");
  if (it == meta.end()) return false;
  try {
    item_tokens = nlohmann::json::parse(it->second).get<std::vector<std::string>>();
    attribute_tokens = nlohmann::json::parse(meta.at("attribute_tokens")).get<std::vector<std::string>>();
    const auto lists = nlohmann::json::parse(meta.at("item_attributes"));
    for (const auto& list : lists)  // integers that fit an int: a float or a wider value would convert with UB
      if (!list.is_array() || !std::all_of(list.begin(), list.end(), [](const auto& a) {
            return a.is_number_integer() && a.template get<long long>() >= 0 && a.template get<long long>() <= INT32_MAX;
          }))
        throw std::runtime_error("item_attributes must hold lists of attribute ids");
    item_attributes = lists.get<std::vector<std::vector<int>>>();
  } catch (const std::exception& e) {
    throw std::runtime_error(source + ": bad vocabulary metadata: " + e.what());
  }
  if (item_attributes.size() != item_tokens.size())
    throw std::runtime_error(source + ": vocabulary metadata: item_attributes and item_tokens differ in length");
  for (const auto& list : item_attributes)
    for (int a : list)
      if (a < 0 || a >= int(attribute_tokens.size()))
        throw std::runtime_error(source + ": vocabulary metadata: attribute id " + std::to_string(a) + " out of range");
  index();
  return true;
}

void Vocabulary::index() {
  item_index_.clear();
  attribute_index_.clear();
  for (int i = 1; i < int(item_tokens.size()); ++i) item_index_.emplace(item_tokens[i], i);
  for (int a = 1; a < int(attribute_tokens.size()); ++a) attribute_index_.emplace(attribute_tokens[a], a);
}

int Vocabulary::item_id(const std::string& token) const {
  const auto it = item_index_.find(token);
  return it == item_index_.end() ? 0 : it->second;
}

int Vocabulary::attribute_id(const std::string& token) const {
  const auto it = attribute_index_.find(token);
  return it == attribute_index_.end() ? 0 : it->second;
}

}  // namespace s3rec
