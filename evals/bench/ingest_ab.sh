#!/usr/bin/env bash
# Ingest time and store size of two checkouts of papers, alternating, fresh stores, one shared ONNX cache:
#   git worktree add --detach /tmp/a OLD && git worktree add --detach /tmp/b NEW
#   HF_HUB_OFFLINE=1 bash evals/bench/ingest_ab.sh /tmp/a /tmp/b assistant/corpus/daily-papers-a.txt [ROUNDS]
set -euo pipefail
a=$1 b=$2 file=$(realpath "$3") rounds=${4:-2}
export PAPERS_EMBED_CACHE_DIR=${PAPERS_EMBED_CACHE_DIR:-/tmp/papers-ab-models}
for i in $(seq "$rounds"); do
  for side in "$a" "$b"; do
    store=$(mktemp -d)
    start=$(date +%s.%N)
    (cd "$side" && python -m assistant --store "$store" ingest "$file" > /dev/null 2>&1)
    end=$(date +%s.%N)
    echo "$side run $i: $(echo "$end - $start" | bc) s, chroma $(du -sb "$store/chroma" | cut -f1) bytes"
    rm -rf "$store"
  done
done
