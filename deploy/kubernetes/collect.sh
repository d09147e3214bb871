#!/usr/bin/env bash
# Gathers the results of a finished hit Indexed Job (hit-job.yaml: each pod ran `hit --save -`,
# so its log is its shard's results file) and merges them with hit report.
#   deploy/kubernetes/collect.sh JOB [hit report options...]
#   e.g. deploy/kubernetes/collect.sh hit --threshold 'p99<250ms' --threshold 'errors<0.1%'
# Writes $OUT/run-<index>.json (OUT defaults to ./JOB-results, which must hold no results yet),
# then runs ${HIT:-hit} report on them: its exit code is this script's. kubectl's current
# context and namespace are used. Needs Kubernetes >= 1.28 (the job-completion-index label).
set -euo pipefail

job=${1:?usage: collect.sh JOB [hit report options...]}
shift
out=${OUT:-$job-results}
mkdir -p "$out"
if compgen -G "$out/run-*.json" >/dev/null; then
  echo "collect.sh: $out already holds results; remove them or set OUT" >&2
  exit 1
fi

pods=$(kubectl get pods -l "batch.kubernetes.io/job-name=$job" -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.metadata.labels.batch\.kubernetes\.io/job-completion-index}{" "}{.status.phase}{"\n"}{end}')
if [[ -z $pods ]]; then
  echo "collect.sh: no pods for job $job" >&2
  exit 1
fi

while read -r pod index phase; do
  if [[ $phase != Succeeded && $phase != Failed ]]; then
    echo "collect.sh: $pod (shard $index) is $phase: wait until the Job has finished" >&2
    exit 1
  fi
  if [[ $phase == Failed ]]; then
    echo "collect.sh: $pod (shard $index) failed:" >&2
    { kubectl get pod "$pod" -o jsonpath='{.status.containerStatuses[0].state.terminated.message}' || true; echo; } >&2
  fi
  file=$out/run-$index.json
  # Two pods for one index (a replaced pod): keep both, hit report flags the duplicate.
  [[ -e $file ]] && file=$out/run-$index-$pod.json
  kubectl logs "$pod" >"$file"
  if [[ ! -s $file ]]; then
    echo "collect.sh: $pod (shard $index) wrote no results" >&2
    rm -f "$file"
  fi
done <<<"$pods"

shopt -s nullglob
exec "${HIT:-hit}" report "$out"/run-*.json "$@"
