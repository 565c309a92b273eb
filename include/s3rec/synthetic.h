#pragma once
// A synthetic dataset with the structure S3-Rec exploits: users with latent
// tastes, items whose attributes reveal their taste cluster, and sequential
// transitions between items.
#include <cstdint>
#include <string>

#include "s3rec/dataset.h"

namespace s3rec {

struct SyntheticOptions {
  int users = 2000;
  int items = 800;
  int clusters = 16;           // latent tastes
  int attrs_per_cluster = 4;   // attribute ids that mark a cluster
  int noise_attributes = 20;   // attributes shared across clusters
  int min_length = 5, max_length = 40;
  double p_follow = 0.55;      // next item = the successor of the current one in its cluster
  double p_taste = 0.35;       // a random item from the user's current taste
  double p_switch = 0.08;      // the user moves to another taste
  double popularity_skew = 0.0;  // > 0: picks within a taste follow Zipf(skew) over the cluster's items
  uint64_t seed = 7;
};

// Items are numbered 1..items, users 1..users; each user's sequence has no repeats.
// Sample negatives (99 per user) are generated too.
Dataset make_synthetic(const SyntheticOptions& opt);

// Writes DIR/NAME.txt, DIR/NAME_item2attributes.json and (when present) DIR/NAME_sample.txt (atomic writes).
void write_reference_format(const std::string& dir, const Dataset& d);

}  // namespace s3rec
