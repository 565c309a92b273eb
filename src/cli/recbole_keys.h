#pragma once
// RecBole's configuration keys that are not s3rec's own: its negative-sampling and
// evaluation settings (translated to s3rec's loss_type and eval_mode), and the rest of
// RecBole's keys, each accepted where s3rec behaves as the given value says and refused
// otherwise with the reason ("RecBole key X is not supported by s3rec: ...").
#include <string>

namespace s3rec::recbole {

// A value as RecBole reads it (a YAML/Python literal: quotes dropped, None/~/null -> "None",
// true/false -> "True"/"False", maps as "{k: v, ...}", lists as "[a, b]").
std::string canonical(const std::string& value);

// neg_sampling (RecBole <= 1.0) or train_neg_sample_args (RecBole >= 1.1) -> "None"
// (no sampled negatives) or "{uniform: 1}" (one uniform negative); throws ConfigError.
std::string neg_sampling(const std::string& key, const std::string& value, const std::string& where);

// eval_args: checks split/group_by/order against s3rec's protocol (leave-one-out by time,
// per user) and returns the eval_mode its `mode` asks for ("sampled" for uni100, "full"),
// or "" when it has no mode; throws ConfigError.
std::string eval_args(const std::string& value, const std::string& where);

// Another RecBole key: false if RecBole has no such key. Otherwise returns true when the
// value is accepted (note: set when the key has no effect in s3rec) and throws ConfigError
// saying why when it is not.
bool foreign_key(const std::string& key, const std::string& value, const std::string& where, std::string& note);

}  // namespace s3rec::recbole
