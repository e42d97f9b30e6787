#!/usr/bin/env bash
# Submits the shard array and a merge that waits for all of it: scripts/slurm/submit.sh [N]
set -euo pipefail
n=${1:-8}
mkdir -p logs
array=$(sbatch --parsable --array="0-$((n - 1))" "$(dirname "$0")/shards.sbatch")
sbatch --dependency="afterok:${array}" "$(dirname "$0")/merge.sbatch"
