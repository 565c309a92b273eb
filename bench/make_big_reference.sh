#!/usr/bin/env bash
# A large synthetic dataset in the reference format, for bench_load (docs/scaling.md,
# "Loading"): USERS lines of LENGTH uniform item ids out of ITEMS, and an item2attributes
# file giving each item one of 1,000 attributes. No sample file.
#   bench/make_big_reference.sh OUT_DIR [USERS=1000000] [LENGTH=100] [ITEMS=1000000] [NAME=big]
# The defaults write 100M interactions (about 690 MB of text).
set -euo pipefail
out=${1:?usage: make_big_reference.sh OUT_DIR [USERS] [LENGTH] [ITEMS] [NAME]}
users=${2:-1000000} length=${3:-100} items=${4:-1000000} name=${5:-big}
mkdir -p "$out"
awk -v U="$users" -v L="$length" -v N="$items" 'BEGIN {
  srand(7)
  for (u = 1; u <= U; u++) {
    line = u
    for (i = 0; i < L; i++) line = line " " int(rand() * N) + 1
    print line
  }
}' > "$out/$name.txt.tmp"
mv "$out/$name.txt.tmp" "$out/$name.txt"
awk -v N="$items" 'BEGIN {
  srand(11)
  printf "{"
  for (i = 1; i <= N; i++) printf "%s\"%d\": [%d]", (i > 1 ? ", " : ""), i, int(rand() * 1000) + 1
  print "}"
}' > "$out/${name}_item2attributes.json.tmp"
mv "$out/${name}_item2attributes.json.tmp" "$out/${name}_item2attributes.json"
ls -l "$out"
