#!/usr/bin/env bash
# The GPU parts of the full profile, as one script for a lent GPU machine. It runs the sentiment
# speed benchmark and chapter 02 in the full profile, and copies the results to $OUT (or
# ./gpu_results).
#
#   DRY_RUN=1 PYTHON=.venv/bin/python bash benchmarks/gpu_full_profile.sh
# runs the same steps at smoke sizes on a CPU (the test suite does this), so that the first lent GPU
# runs it in one go.
#
# The GPU machine has no registry access. Before calling it, on the development machine:
#   1. make fetch                                   (the data cache)
#   2. mkdir -p .gpu && cp -r ~/.cache/retention_lib/assets .gpu/cache-assets
#      (add /.gpu/ to .git/info/exclude; carry .gpu)
#   3. pip download the pure-Python dependencies the GPU image lacks into .gpu/wheels
#      (papermill, nbformat, vaderSentiment, scikit-uplift, jupyter-book and its Sphinx stack are only
#      needed for the notebook run; the benchmark needs only transformers, pandas, pyarrow, scikit-learn)
# The GPU image's own torch (CUDA) is used: the project is installed with --no-deps.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu_results}
PYTHON=${PYTHON:-python3}
DRY_RUN=${DRY_RUN:-0}
mkdir -p "$OUT"
if [ "$DRY_RUN" = 1 ]; then
  PROFILE=smoke
  BENCH_ARGS=(--batch-sizes 8 --examples 16 --no-record)
else
  PROFILE=full
  BENCH_ARGS=(--batch-sizes 32 64 128 --examples 1024)
  export RETENTION_LIB_CACHE=${RETENTION_LIB_CACHE:-$PWD/.gpu/cache}
  mkdir -p "$RETENTION_LIB_CACHE"
  [ -d .gpu/cache-assets ] && cp -r .gpu/cache-assets "$RETENTION_LIB_CACHE/assets"
  if [ -d .gpu/wheels ]; then
    "$PYTHON" -m pip install -q --no-index --no-deps --target /tmp/site .gpu/wheels/*.whl
    export PYTHONPATH=/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}
  else
    export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
  fi
fi
if command -v nvidia-smi > /dev/null; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
else
  echo "no nvidia-smi: no GPU on this machine" | tee "$OUT/gpu.txt"
fi
"$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'bf16', torch.cuda.is_available() and torch.cuda.is_bf16_supported())" | tee -a "$OUT/gpu.txt"
export PYTHONUNBUFFERED=1
"$PYTHON" benchmarks/sentiment_speed.py "${BENCH_ARGS[@]}" 2>&1 | tee "$OUT/benchmark.log"
cp benchmarks/RESULTS.md "$OUT/RESULTS.md"
"$PYTHON" -m retention_lib run --profile "$PROFILE" --only 02_sentiment 2>&1 | tee "$OUT/run_02.log"
cp "_build/$PROFILE/notebooks/02_sentiment.ipynb" "$OUT/"
cp "_build/$PROFILE/artifacts/sentiment_model/history.csv" "$OUT/history.csv"
echo "results in $OUT"
