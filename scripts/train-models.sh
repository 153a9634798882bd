#!/usr/bin/env bash
# Trains the served MTL-feedback models from scratch (CPU) and writes them into models/:
#
#   bash scripts/train-models.sh            # everything (served models + comparison runs)
#   COMPARE=0 bash scripts/train-models.sh  # served models (+ the NCBI single-task run) only
#   REUSE=1 bash scripts/train-models.sh    # keep word vectors / runs already under .cache
#   COMPARE_RUNS="ncbi-disease-single-w2v ..." # which comparison configs to train
#
# 1. token JSONL of NCBI-disease and BC5CDR (TypeScript tokenizer: medstream export-training)
#    -> .cache/training-data/<corpus>/{train,dev,test}.jsonl
# 2. tokenized text for word vectors (medstream export-text; no test split of NCBI/BC5CDR)
#    -> .cache/training-data/w2v-text.txt; word2vec (gensim skip-gram, 100d) -> .cache/word2vec/
# 3. served runs models/configs/{ncbi-disease,bc5cdr}-mtl-feedback-w2v.toml -> .cache/runs/
#    (BC5CDR: two 22-minute budgets, the second continuing from the first's best checkpoint),
#    exported to models/ncbi-disease-mtl and models/bc5cdr-mtl (ONNX, vocab, manifest, parity)
#    (a feedback model is exported in its folded serving form, checked against the training
#    module: models/medstream_models/mtl_serving.py)
# 4. int8 variant models/bc5cdr-mtl-int8 (onnxruntime dynamic quantization of the MEN product,
#    models/medstream_models/quantize.py) and its METRICS.md (TypeScript evaluator, BC5CDR test)
# 5. comparison runs (single task, MTL without feedback, random vectors) -> .cache/runs/
# 6. models/<name>/TRAINING.md from the runs' result.json
#
# Runs JOBS trainings at a time (default 2, one torch thread each); logs in .cache/train-logs/.
# Needs the shared data at MEDSTREAM_DATA (default ../shared/data) and node_modules installed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
JOBS="${JOBS:-2}"
COMPARE="${COMPARE:-1}"
REUSE="${REUSE:-0}"
DATA_OUT=.cache/training-data
LOGS=.cache/train-logs
VECTORS=.cache/word2vec/w2v-100d.txt
CORPORA=(ncbi-disease bc5cdr)
export OPENBLAS_NUM_THREADS=1

log() { echo "train-models: $*" >&2; }

bash scripts/python-env.sh train-setup
mkdir -p "$DATA_OUT" "$LOGS" .cache/runs

for corpus in "${CORPORA[@]}"; do
  log "exporting $corpus token JSONL"
  npx tsx src/cli/main.ts export-training --corpus "$corpus" --split all --scheme bio \
    --out "$DATA_OUT/$corpus" >"$LOGS/export-$corpus.json"
done

if [[ "$REUSE" == 1 && -s "$VECTORS" ]]; then
  log "reusing $VECTORS"
else
  log "exporting tokenized text and training word2vec"
  npx tsx src/cli/main.ts export-text --out "$DATA_OUT/w2v-text.txt" >"$LOGS/export-text.json"
  "$PY" -m medstream_models.word2vec --text "$DATA_OUT/w2v-text.txt" --out "$VECTORS" \
    --dim 100 --seed 13 --workers 2 >"$LOGS/word2vec.log" 2>&1
fi

# Trains the named configs, JOBS at a time. NAME:continue continues .cache/runs/NAME (moved to
# .cache/runs/NAME-part1) from its selected checkpoint with a fresh optimiser for another budget.
train_all() {
  local entry name pids=() extra
  for entry in "$@"; do
    name="${entry%:continue}"
    extra=()
    if [[ "$entry" == *:continue ]]; then
      if [[ "$REUSE" == 1 && -s ".cache/runs/$name-part1/result.json" && -s ".cache/runs/$name/result.json" ]]; then
        log "reusing .cache/runs/$name (continued)"
        continue
      fi
      rm -rf ".cache/runs/$name-part1"
      mv ".cache/runs/$name" ".cache/runs/$name-part1"
      extra=(--init-from ".cache/runs/$name-part1")
    elif [[ "$REUSE" == 1 && -s ".cache/runs/$name/result.json" ]]; then
      log "reusing .cache/runs/$name"
      continue
    fi
    log "training $entry (log: $LOGS/${name}${extra:+-part2}.log)"
    "$PY" -m medstream_models.train_mtl --config "models/configs/$name.toml" \
      --run-dir ".cache/runs/$name" "${extra[@]}" >"$LOGS/${name}${extra:+-part2}.log" 2>&1 &
    pids+=($!)
    if ((${#pids[@]} >= JOBS)); then
      wait "${pids[0]}" || { log "training failed, see $LOGS"; exit 1; }
      pids=("${pids[@]:1}")
    fi
  done
  local pid
  for pid in "${pids[@]}"; do wait "$pid" || { log "a training failed, see $LOGS"; exit 1; }; done
}

# Served runs. BC5CDR (2,723 MEN labels: ~200 s per epoch here) gets a second 22-minute budget,
# continuing from the first one's selected checkpoint, alongside the first comparison run.
train_all ncbi-disease-mtl-feedback-w2v bc5cdr-mtl-feedback-w2v
train_all bc5cdr-mtl-feedback-w2v:continue ncbi-disease-single-w2v
for corpus in "${CORPORA[@]}"; do
  log "exporting models/$corpus-mtl"
  "$PY" -m medstream_models.mtl_export --config "models/configs/$corpus-mtl-feedback-w2v.toml" \
    --run-dir ".cache/runs/$corpus-mtl-feedback-w2v" --out "models/$corpus-mtl" >"$LOGS/export-$corpus-mtl.json"
done
# The int8 variant records the sha256 of the float graph it was made from: re-made after every
# export. The float model stays the default; the variant is served with --model.
log "quantizing models/bc5cdr-mtl -> models/bc5cdr-mtl-int8"
"$PY" -m medstream_models.quantize --model models/bc5cdr-mtl --out models/bc5cdr-mtl-int8 \
  >"$LOGS/quantize-bc5cdr-mtl.json" 2>"$LOGS/quantize-bc5cdr-mtl.log"
npx tsx src/cli/main.ts eval --corpus bc5cdr --split test --model models/bc5cdr-mtl-int8 --json \
  --metrics models/bc5cdr-mtl-int8/METRICS.md >"$LOGS/eval-bc5cdr-mtl-int8.json"

if [[ "$COMPARE" == 1 ]]; then
  # shellcheck disable=SC2086 # a space-separated list of config names
  train_all ${COMPARE_RUNS:-ncbi-disease-mtl-w2v ncbi-disease-mtl-feedback-random \
    bc5cdr-single-w2v bc5cdr-mtl-w2v bc5cdr-mtl-feedback-random}
fi

for corpus in "${CORPORA[@]}"; do
  "$PY" -m medstream_models.mtl_report --out "models/$corpus-mtl/TRAINING.md" \
    --served ".cache/runs/$corpus-mtl-feedback-w2v" \
    --compare ".cache/runs/$corpus-single-w2v" ".cache/runs/$corpus-mtl-w2v" \
    ".cache/runs/$corpus-mtl-feedback-random" ".cache/runs/$corpus-single-random" ".cache/runs/$corpus-mtl-random"
done
log "done: models/ncbi-disease-mtl, models/bc5cdr-mtl, models/bc5cdr-mtl-int8"
