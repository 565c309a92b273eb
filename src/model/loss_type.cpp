#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <string>

#include "s3rec/model.h"

namespace s3rec {

LossType parse_loss_type(const std::string& s) {
  std::string u = s;
  std::transform(u.begin(), u.end(), u.begin(), [](unsigned char c) { return char(std::toupper(c)); });
  if (u == "BCE") return LossType::BCE;
  if (u == "BPR") return LossType::BPR;
  if (u == "CE") return LossType::CE;
  throw std::invalid_argument("loss_type must be one of BCE, BPR, CE; got '" + s + "'");
}

const char* loss_type_name(LossType t) {
  switch (t) {
    case LossType::BCE: return "BCE";
    case LossType::BPR: return "BPR";
    case LossType::CE: return "CE";
  }
  return "?";
}

}  // namespace s3rec
