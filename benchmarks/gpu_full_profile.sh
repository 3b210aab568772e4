#!/usr/bin/env bash
# The GPU parts of the full profile, as one script for a lent GPU machine (prepared, see the note
# in benchmarks/RESULTS.md for whether it has run). It runs chapter 02 in the full profile and
# the sentiment speed benchmark, and copies the results to $OUT (or ./gpu_results).
#
# The GPU machine has no registry access. Before calling it, on the development machine:
#   1. make fetch                                   (the data cache)
#   2. mkdir -p .gpu && cp -r ~/.cache/retention_lib/assets .gpu/cache-assets
#      (add /.gpu/ to .git/info/exclude; carry .gpu)
#   3. pip download the pure-Python dependencies the GPU image lacks into .gpu/wheels
#      (papermill, nbformat, vaderSentiment, jupyter-book and its Sphinx stack are only needed
#      for the notebook run; the benchmark needs only transformers, pandas, pyarrow, scikit-learn)
# The GPU image's own torch (CUDA) is used: the project is installed with --no-deps.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu_results}
mkdir -p "$OUT"
export RETENTION_LIB_CACHE=${RETENTION_LIB_CACHE:-$PWD/.gpu/cache}
mkdir -p "$RETENTION_LIB_CACHE"
[ -d .gpu/cache-assets ] && cp -r .gpu/cache-assets "$RETENTION_LIB_CACHE/assets"
if [ -d .gpu/wheels ]; then
  python3 -m pip install -q --no-index --no-deps --target /tmp/site .gpu/wheels/*.whl
  export PYTHONPATH=/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}
else
  export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'bf16', torch.cuda.is_bf16_supported())" | tee -a "$OUT/gpu.txt"
export PYTHONUNBUFFERED=1
python3 benchmarks/sentiment_speed.py --batch-sizes 32 64 128 --examples 1024 2>&1 | tee "$OUT/benchmark.log"
cp benchmarks/RESULTS.md "$OUT/RESULTS.md"
python3 -m retention_lib run --profile full --only 02_sentiment 2>&1 | tee "$OUT/full_02.log"
cp _build/full/notebooks/02_sentiment.ipynb "$OUT/"
cp _build/full/artifacts/sentiment_model/history.csv "$OUT/history.csv" || true
