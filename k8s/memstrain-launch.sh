#!/usr/bin/env bash
# memstrain-launch.sh: run a memstrain plan beside a Kubernetes pod, on that pod's node.
#
#   memstrain-launch.sh run    (--pod NAME | --selector LABELS) --plan-configmap CM [options]
#   memstrain-launch.sh render (--pod NAME | --selector LABELS) --plan-configmap CM [options]
#   memstrain-launch.sh recover --node NODE [--dry-run] [options]
#   memstrain-launch.sh render-recover --node NODE [--dry-run] [options]
#   memstrain-launch.sh result CONFIGMAP [--key KEY]
#   memstrain-launch.sh in-job
#
# run     resolves the pod (node, UID, container id, IP), renders a Job that the scheduler must place
#         on that node, creates it, streams its log, waits for it, stores the run's result (verdict
#         line, report.json, summary.md, metrics.prom, report.html) in a ConfigMap, and exits with
#         memstrain's exit code. The last line it prints is memstrain's verdict line, so a Chaos Mesh
#         Task (whose stdout is the whole log) or a CI step can branch on it.
# render  prints the Job that `run` would create, and creates nothing.
# result  prints a key of a run's result ConfigMap (default: the verdict line), e.g. report.json.
# in-job  the Job's entry point on the node: finds the container's cgroup with `memstrain locate`,
#         writes an attach plan from the ConfigMap's plan, runs `memstrain run`, then prints the
#         report files (tar, gzip, base64, between two marker lines) and the verdict line again, last,
#         so that the launcher can store them with nothing but the Job's log.
# recover runs `memstrain recover` on a node in a Job of its own: it undoes runs whose memstrain
#         died (OOM-killed Job, deleted pod, node pressure) from their journals, which the run Jobs
#         keep in a hostPath directory of the node (/run/memstrain/jobs). render-recover prints it.
#
# Needs bash, kubectl and jq (all in the memstrain image). Exit codes: memstrain's (0 pass, 1 fail,
# 2 invalid plan, 3 run error, 4 interrupted, 5 inconclusive, 6 cleanup failed, 7 aborted); 2 for a
# usage error here; 3 when the pod cannot be resolved or the Job did not run memstrain.
set -euo pipefail

readonly PROG="memstrain-launch"
readonly VERSION="0.1.0"
readonly VERDICT_PREFIX="memstrain: verdict="
# The report files in the Job's log: a tar.gz, base64, between these two lines.
readonly REPORT_BEGIN="memstrain-launch: report files (tar.gz, base64) for memstrain-launch.sh follow"
readonly REPORT_END="memstrain-launch: end of report files"
# The launcher stores them in a ConfigMap; larger files are left out (a ConfigMap holds 1 MiB).
readonly RESULT_MAX_BYTES=$((900 * 1024))

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
# The lines just before the verdict line go to stdout with it: a container's two streams reach its
# log (what `kubectl logs` and a Chaos Mesh Task's `stdout` show) through two pipes, and a stderr
# line written a moment before the last stdout line can land after it.
say() { printf '%s: %s\n' "$PROG" "$*"; }
die() {
  local code=$1
  shift
  log "$*"
  exit "$code"
}

usage() {
  cat <<'EOF'
usage: memstrain-launch.sh run|render (--pod NAME | --selector LABELS) --plan-configmap CM [options]
       memstrain-launch.sh recover|render-recover --node NODE [--dry-run] [options]
       memstrain-launch.sh result CONFIGMAP [--key KEY] [--job-namespace NS]
       memstrain-launch.sh in-job

  --pod NAME              the target pod
  --selector LABELS       or: the first Running pod (by name) matching this label selector
  --namespace NS          the target's namespace (default: $MEMSTRAIN_TARGET_NAMESPACE or "default")
  --container NAME        the target container; required when the pod has several
  --plan-configmap CM     ConfigMap in the Job namespace holding the plan
  --plan-key KEY          the plan's key in it (default plan.json)
  --job-namespace NS      where the Job runs (default: $MEMSTRAIN_JOB_NAMESPACE, else the
                          launcher token's namespace, else "memstrain")
  --job-name NAME         default memstrain-<pod>-<time>
  --image IMAGE           memstrain image for the Job (default: the ConfigMap memstrain-settings'
                          image, else $MEMSTRAIN_IMAGE, else memstrain:0.1.0)
  --cgroup-version 1|2    the node's cgroup version (default: memstrain-settings' cgroupVersion,
                          else 2). 2 runs the Job privileged: only privileged containers get the
                          host's cgroup namespace, without which the kernel refuses to move the
                          stressor into another pod's cgroup. 1 runs it unprivileged (root, all
                          capabilities dropped but SYS_PTRACE).
  --report-pvc CLAIM      also write reports to this PVC (default: hostPath
                          /var/lib/memstrain/reports on the node)
  --result-configmap NAME the ConfigMap the run's result goes to, replaced if it exists (default
                          memstrain-result-<job without its memstrain- prefix>); must start with
                          memstrain-result-
  --textfile-dir DIR      a node directory read by node_exporter's textfile collector: the Job
                          mounts it and memstrain writes memstrain_<plan>.prom there (default:
                          memstrain-settings' textfileDir; the admission policy admits no other)
  --timeout SECONDS       give up waiting after this long; also the Job's activeDeadlineSeconds
                          (default 7200)
  --ttl SECONDS           ttlSecondsAfterFinished of the Job (default 3600)
  --allow-commands        let the plan run commands of its own (release.trigger.command), as root
                          in the privileged Job: memstrain run --allow-commands. Off by default:
                          such a plan is refused

recover and render-recover take --node NODE (the node a run died on: the run's log names it),
--dry-run (say what would be undone, change nothing), and --job-namespace, --job-name, --image,
--cgroup-version, --timeout and --ttl as above.

Run Jobs keep their crash journal in a hostPath directory of the node, /run/memstrain/jobs (tmpfs:
gone after a reboot, like the cgroups it describes). A run that finds the journal of a run that
died refuses to start until `recover` has cleaned up after it.

The launcher reads the ConfigMap memstrain-settings of the Job namespace (what the admission policy
admits: image, cgroup version, textfile directory) when it can; options given here win.

Results: the Job prints memstrain's summary and verdict line; run stores the verdict line, exit
code, report.json, summary.md, metrics.prom and report.html in the result ConfigMap:
  kubectl -n memstrain get configmap memstrain-result-… -o jsonpath='{.data.report\.json}'
  memstrain-launch.sh result memstrain-result-… --key report.json

A token directory (token, ca.crt, namespace) at /var/run/secrets/memstrain-launcher (or
$MEMSTRAIN_TOKEN_DIR), such as a projected service account token in a Chaos Mesh Task, is used
instead of the ambient kubeconfig.
EOF
}

# --- helpers -----------------------------------------------------------------------------------

# A DNS-1123 label from free text: lowercase, [a-z0-9-], at most $2 characters, no edge dashes.
dns_label() {
  local s
  s=$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]' | tr -c 'a-z0-9-' '-')
  s=${s:0:$2}
  s=${s##-}
  s=${s%%-}
  printf '%s' "$s"
}

require_safe() {  # values go into YAML between double quotes: refuse anything that could escape them
  local what=$1 value=$2
  [[ $value =~ ^[A-Za-z0-9._:/@=,+-]*$ ]] || die 2 "$what \"$value\": unexpected characters"
}

# Uses the launcher token (a Secret mounted into a Chaos Mesh Task) when present.
setup_kube_auth() {
  local dir=${MEMSTRAIN_TOKEN_DIR:-/var/run/secrets/memstrain-launcher}
  [[ -r $dir/token ]] || return 0
  local host=${KUBERNETES_SERVICE_HOST:-kubernetes.default.svc} port=${KUBERNETES_SERVICE_PORT:-443}
  [[ $host == *:* ]] && host="[$host]"
  KUBE_TMP=${KUBE_TMP:-$(mktemp -d)}
  cat >"$KUBE_TMP/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: in-cluster
    cluster:
      server: https://$host:$port
      certificate-authority: $dir/ca.crt
users:
  - name: memstrain-launcher
    user:
      tokenFile: $dir/token
contexts:
  - name: memstrain-launcher
    context: {cluster: in-cluster, user: memstrain-launcher}
current-context: memstrain-launcher
EOF
  export KUBECONFIG=$KUBE_TMP/kubeconfig
  if [[ -z ${JOB_NS:-} && -r $dir/namespace ]]; then JOB_NS=$(<"$dir/namespace"); fi
}

# --- run / render ------------------------------------------------------------------------------

parse_args() {
  POD="" SELECTOR="" TARGET_NS=${MEMSTRAIN_TARGET_NAMESPACE:-default} CONTAINER="" PLAN_CM="" PLAN_KEY=plan.json
  JOB_NS=${MEMSTRAIN_JOB_NAMESPACE:-} JOB_NAME="" IMAGE="" CGROUP_VERSION=""
  REPORT_PVC="" TIMEOUT=7200 TTL=3600 ALLOW_COMMANDS="" RESULT_CM="" TEXTFILE_DIR="-"
  while (($#)); do
    case $1 in
      --pod) POD=${2:?--pod needs a value}; shift 2 ;;
      --selector|-l) SELECTOR=${2:?--selector needs a value}; shift 2 ;;
      --namespace|-n) TARGET_NS=${2:?--namespace needs a value}; shift 2 ;;
      --container|-c) CONTAINER=${2:?--container needs a value}; shift 2 ;;
      --plan-configmap) PLAN_CM=${2:?--plan-configmap needs a value}; shift 2 ;;
      --plan-key) PLAN_KEY=${2:?--plan-key needs a value}; shift 2 ;;
      --job-namespace) JOB_NS=${2:?--job-namespace needs a value}; shift 2 ;;
      --job-name) JOB_NAME=${2:?--job-name needs a value}; shift 2 ;;
      --image) IMAGE=${2:?--image needs a value}; shift 2 ;;
      --cgroup-version) CGROUP_VERSION=${2:?--cgroup-version needs a value}; shift 2 ;;
      --report-pvc) REPORT_PVC=${2:?--report-pvc needs a value}; shift 2 ;;
      --result-configmap) RESULT_CM=${2:?--result-configmap needs a value}; shift 2 ;;
      --textfile-dir) TEXTFILE_DIR=${2?--textfile-dir needs a value}; shift 2 ;;
      --timeout) TIMEOUT=${2:?--timeout needs a value}; shift 2 ;;
      --ttl) TTL=${2:?--ttl needs a value}; shift 2 ;;
      --allow-commands) ALLOW_COMMANDS=1; shift ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; die 2 "unknown argument \"$1\"" ;;
    esac
  done
  [[ -n $POD || -n $SELECTOR ]] || { usage >&2; die 2 "give --pod NAME or --selector LABELS"; }
  [[ -z $POD || -z $SELECTOR ]] || die 2 "give --pod or --selector, not both"
  [[ -n $PLAN_CM ]] || die 2 "--plan-configmap is required"
  [[ -z $CGROUP_VERSION || $CGROUP_VERSION == 1 || $CGROUP_VERSION == 2 ]] || die 2 "--cgroup-version must be 1 or 2"
  [[ $TIMEOUT =~ ^[1-9][0-9]*$ && $TTL =~ ^[0-9]+$ ]] || die 2 "--timeout and --ttl take whole seconds"
  [[ -z $RESULT_CM || $RESULT_CM =~ ^memstrain-result-[a-z0-9]([-a-z0-9]{0,218}[a-z0-9])?$ ]] ||
    die 2 "--result-configmap \"$RESULT_CM\": a DNS name starting with memstrain-result-"
  [[ $TEXTFILE_DIR == - || -z $TEXTFILE_DIR || $TEXTFILE_DIR == /* ]] || die 2 "--textfile-dir must be an absolute path on the node"
  [[ $TARGET_NS =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die 2 "--namespace \"$TARGET_NS\" is not a namespace name"
  local v
  for v in POD TARGET_NS CONTAINER PLAN_CM PLAN_KEY JOB_NS JOB_NAME IMAGE REPORT_PVC TEXTFILE_DIR; do require_safe "--${v,,}" "${!v}"; done
}

# The ConfigMap memstrain-settings of the Job namespace: what the admission policy admits. Fills
# IMAGE, CGROUP_VERSION and TEXTFILE_DIR where the command line left them open; without it (not
# there, not readable) the defaults stand.
load_settings() {
  local json="" image="" version="" textfile=""
  if json=$(kubectl get configmap memstrain-settings -n "$JOB_NS" -o json 2>/dev/null); then
    image=$(jq -r '.data.image // ""' <<<"$json")
    version=$(jq -r '.data.cgroupVersion // ""' <<<"$json")
    textfile=$(jq -r '.data.textfileDir // ""' <<<"$json")
    log "settings from ConfigMap $JOB_NS/memstrain-settings: image ${image:-(default)}, cgroup v${version:-?}${textfile:+, textfile dir $textfile}"
  else
    log "no readable ConfigMap $JOB_NS/memstrain-settings: built-in defaults"
  fi
  IMAGE=${IMAGE:-${image:-${MEMSTRAIN_IMAGE:-memstrain:$VERSION}}}
  CGROUP_VERSION=${CGROUP_VERSION:-${version:-2}}
  [[ $TEXTFILE_DIR != - ]] || TEXTFILE_DIR=$textfile
  [[ $CGROUP_VERSION == 1 || $CGROUP_VERSION == 2 ]] || die 2 "memstrain-settings: cgroupVersion must be \"1\" or \"2\""
  [[ -z $TEXTFILE_DIR || $TEXTFILE_DIR == /* ]] || die 2 "memstrain-settings: textfileDir must be an absolute path"
  require_safe "image" "$IMAGE"
  require_safe "textfile dir" "$TEXTFILE_DIR"
}

# Fills NODE, POD_UID, CONTAINER, CONTAINER_ID, POD_IP, TOLERATIONS from the pod's JSON.
resolve_pod() {
  local pod_json
  if [[ -n $SELECTOR ]]; then
    local list
    list=$(kubectl get pods -n "$TARGET_NS" -l "$SELECTOR" -o json) || die 3 "cannot list pods \"$SELECTOR\" in $TARGET_NS"
    pod_json=$(jq -c '[.items[] | select(.status.phase == "Running" and .metadata.deletionTimestamp == null)]
                      | sort_by(.metadata.name) | first // empty' <<<"$list")
    [[ -n $pod_json ]] || die 3 "no Running pod matches \"$SELECTOR\" in namespace $TARGET_NS"
    POD=$(jq -r '.metadata.name' <<<"$pod_json")
    log "selector $SELECTOR: target pod $TARGET_NS/$POD"
  else
    pod_json=$(kubectl get pod "$POD" -n "$TARGET_NS" -o json) || die 3 "cannot read pod $TARGET_NS/$POD"
  fi
  local phase
  phase=$(jq -r '.status.phase // "Unknown"' <<<"$pod_json")
  NODE=$(jq -r '.spec.nodeName // ""' <<<"$pod_json")
  POD_UID=$(jq -r '.metadata.uid // ""' <<<"$pod_json")
  POD_IP=$(jq -r '.status.podIP // ""' <<<"$pod_json")
  [[ $phase == Running ]] || die 3 "pod $TARGET_NS/$POD is $phase, not Running"
  [[ -n $NODE ]] || die 3 "pod $TARGET_NS/$POD has no node yet"
  [[ -n $POD_UID ]] || die 3 "pod $TARGET_NS/$POD has no metadata.uid"

  local names
  names=$(jq -r '[.spec.containers[].name] | join(" ")' <<<"$pod_json")
  if [[ -z $CONTAINER ]]; then
    [[ $names != *" "* ]] || die 2 "pod $TARGET_NS/$POD has containers: $names; choose one with --container"
    CONTAINER=$names
  fi
  CONTAINER_ID=$(jq -r --arg c "$CONTAINER" \
    '[.status.containerStatuses[]? | select(.name == $c and .state.running != null)] | first | .containerID // ""' <<<"$pod_json")
  [[ -n $CONTAINER_ID ]] || die 3 "container \"$CONTAINER\" of $TARGET_NS/$POD is not running (containers: $names)"
  require_safe "container id" "$CONTAINER_ID"
  require_safe "node name" "$NODE"
  require_safe "pod UID" "$POD_UID"
  require_safe "pod IP" "$POD_IP"
  # The Job runs where the target runs, so it needs the target's tolerations (the scheduler places it
  # only on the target's node, whose taints the target tolerates). JSON is YAML: pass them through.
  TOLERATIONS=$(jq -c '.spec.tolerations // []' <<<"$pod_json")
  log "target $TARGET_NS/$POD container $CONTAINER ($CONTAINER_ID) on node $NODE, pod UID $POD_UID"
}

# The Job's securityContext for the node's cgroup version (indented for the container).
security_context() {
  if [[ $CGROUP_VERSION == 2 ]]; then
    # cgroup v2: the stressor must move from this pod's cgroup into the target's. The kernel allows
    # that only when both are inside the mover's cgroup namespace, and container runtimes give a
    # container the host's cgroup namespace only when it is privileged.
    printf '%s\n' 'privileged: true
            runAsUser: 0
            readOnlyRootFilesystem: true'
  else
    # cgroup v1: writing cgroup.procs and creating a sibling cgroup need only root's ownership of
    # the files, no capability; SYS_PTRACE lets memstrain read the target's /proc/PID/smaps_rollup
    # when the target runs as another user or with capabilities memstrain lacks (drop it and the
    # run still works, without target RSS in the samples).
    printf '%s\n' 'privileged: false
            allowPrivilegeEscalation: false
            runAsUser: 0
            runAsNonRoot: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL], add: [SYS_PTRACE]}
            seccompProfile: {type: RuntimeDefault}'
  fi
}

# Where run Jobs keep their crash journals, on the node (hostPath) and in the container alike. /run
# is a tmpfs on the node: a reboot removes the journals together with the cgroups they describe.
readonly JOURNAL_DIR=/run/memstrain/jobs

# The recommended labels of the Job and its pod (component: experiment or recover).
labels() {
  printf '%s\n' "app.kubernetes.io/name: memstrain
$1app.kubernetes.io/instance: \"$JOB_NAME\"
$1app.kubernetes.io/version: \"$VERSION\"
$1app.kubernetes.io/component: $2
$1app.kubernetes.io/part-of: memstrain
$1app.kubernetes.io/managed-by: memstrain-launch"
}

# Only the target's node: through the scheduler (which checks resources, taints and the node's
# state, unlike nodeName), by the node's name itself (matchFields metadata.name, as DaemonSets are
# placed; the kubernetes.io/hostname label usually equals it but need not).
node_affinity() {
  printf '%s\n' "nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchFields: [{key: metadata.name, operator: In, values: [\"$NODE\"]}]"
}

render_job() {
  local reports_volume allow_env="" textfile_env="" textfile_mount="" textfile_volume=""
  [[ -z $ALLOW_COMMANDS ]] || allow_env=$'\n            - {name: MEMSTRAIN_ALLOW_COMMANDS, value: "1"}'
  if [[ -n $TEXTFILE_DIR ]]; then
    textfile_env=$'\n            - {name: MEMSTRAIN_TEXTFILE_DIR, value: /textfile}'
    textfile_mount=$'\n            - {name: textfile, mountPath: /textfile}'
    textfile_volume=$'\n        - name: textfile\n          hostPath: {path: "'"$TEXTFILE_DIR"'", type: Directory}'
  fi
  if [[ -n $REPORT_PVC ]]; then
    reports_volume="persistentVolumeClaim: {claimName: \"$REPORT_PVC\"}"
  else
    reports_volume="hostPath: {path: /var/lib/memstrain/reports, type: DirectoryOrCreate}"
  fi
  cat <<EOF
apiVersion: batch/v1
kind: Job
metadata:
  name: "$JOB_NAME"
  namespace: "$JOB_NS"
  labels:
    $(labels "    " experiment)
    memstrain.dev/target-pod: "$(dns_label "$POD" 63)"
  annotations:
    memstrain.dev/target: "$TARGET_NS/$POD"
    memstrain.dev/target-container: "$CONTAINER"
    memstrain.dev/plan: "$PLAN_CM/$PLAN_KEY"
spec:
  backoffLimit: 0
  activeDeadlineSeconds: $TIMEOUT
  ttlSecondsAfterFinished: $TTL
  template:
    metadata:
      labels:
        $(labels "        " experiment)
    spec:
      affinity:
        $(node_affinity)
      hostPID: true
      restartPolicy: Never
      serviceAccountName: memstrain-runner
      automountServiceAccountToken: false
      enableServiceLinks: false
      terminationGracePeriodSeconds: 60
      tolerations: $TOLERATIONS
      containers:
        - name: memstrain
          image: "$IMAGE"
          imagePullPolicy: IfNotPresent
          command: ["memstrain-launch.sh", "in-job"]
          env:
            - {name: MEMSTRAIN_TARGET_NAMESPACE, value: "$TARGET_NS"}
            - {name: MEMSTRAIN_POD_UID, value: "$POD_UID"}
            - {name: MEMSTRAIN_CONTAINER_ID, value: "$CONTAINER_ID"}
            - {name: MEMSTRAIN_POD_IP, value: "$POD_IP"}
            - {name: MEMSTRAIN_PLAN, value: /etc/memstrain/plan/plan.json}
            - {name: MEMSTRAIN_REPORT_DIR, value: "/reports/$JOB_NAME"}
            - {name: MEMSTRAIN_HOST_CGROUP, value: /host/sys/fs/cgroup}
            - {name: MEMSTRAIN_JOURNAL_DIR, value: $JOURNAL_DIR}$textfile_env$allow_env
          resources:
            requests: {cpu: 50m, memory: 64Mi}
            limits: {cpu: 500m, memory: 256Mi}
          securityContext:
            $(security_context)
          volumeMounts:
            - {name: host-cgroup, mountPath: /host/sys/fs/cgroup}
            - {name: journal, mountPath: $JOURNAL_DIR}
            - {name: plan, mountPath: /etc/memstrain/plan, readOnly: true}
            - {name: reports, mountPath: /reports}
            - {name: tmp, mountPath: /tmp}$textfile_mount
      volumes:
        - name: host-cgroup
          hostPath: {path: /sys/fs/cgroup, type: Directory}
        - name: journal
          hostPath: {path: $JOURNAL_DIR, type: DirectoryOrCreate}
        - name: plan
          configMap:
            name: "$PLAN_CM"
            items: [{key: "$PLAN_KEY", path: plan.json}]
        - name: reports
          $reports_volume
        - name: tmp
          emptyDir: {sizeLimit: 64Mi}$textfile_volume
EOF
}

# The Job of `recover`: `memstrain recover` on the node with the run Jobs' view of it: the same
# cgroup mount path (the journals name it), the host's pids, the journal directory.
render_recover_job() {
  local dry=""
  [[ -z $DRY_RUN ]] || dry=', "--dry-run"'
  cat <<EOF
apiVersion: batch/v1
kind: Job
metadata:
  name: "$JOB_NAME"
  namespace: "$JOB_NS"
  labels:
    $(labels "    " recover)
  annotations:
    memstrain.dev/node: "$NODE"
spec:
  backoffLimit: 0
  activeDeadlineSeconds: $TIMEOUT
  ttlSecondsAfterFinished: $TTL
  template:
    metadata:
      labels:
        $(labels "        " recover)
    spec:
      affinity:
        $(node_affinity)
      hostPID: true
      restartPolicy: Never
      serviceAccountName: memstrain-runner
      automountServiceAccountToken: false
      enableServiceLinks: false
      tolerations: [{operator: Exists}]
      containers:
        - name: memstrain
          image: "$IMAGE"
          imagePullPolicy: IfNotPresent
          command: ["memstrain", "recover", "--journal-dir", "$JOURNAL_DIR"$dry]
          resources:
            requests: {cpu: 20m, memory: 32Mi}
            limits: {cpu: 200m, memory: 128Mi}
          securityContext:
            $(security_context)
          volumeMounts:
            - {name: host-cgroup, mountPath: /host/sys/fs/cgroup}
            - {name: journal, mountPath: $JOURNAL_DIR}
      volumes:
        - name: host-cgroup
          hostPath: {path: /sys/fs/cgroup, type: Directory}
        - name: journal
          hostPath: {path: $JOURNAL_DIR, type: DirectoryOrCreate}
EOF
}

# Stores the run's result in ConfigMap $RESULT_CM: the verdict line, exit code, where it ran, and
# the report files the Job printed into its log (those that fit in a ConfigMap: report.html is left
# out first). $1: the log, $2: the verdict line, $3: the exit code.
store_result() {
  local log=$1 verdict=$2 code=$3 dir=$KUBE_TMP/result
  mkdir -p "$dir"
  if ! grep -qxF "$REPORT_BEGIN" "$log"; then
    # The stream can end early (API server timeouts on long runs): the whole log once more.
    kubectl logs "job/$JOB_NAME" -n "$JOB_NS" >"$KUBE_TMP/job-full.log" 2>/dev/null || true
    log=$KUBE_TMP/job-full.log
  fi
  awk -v b="$REPORT_BEGIN" -v e="$REPORT_END" '$0 == e { s = 0 } s { print } $0 == b { s = 1 }' "$log" >"$dir/files.b64" || true
  if [[ -s $dir/files.b64 ]] && ! base64 -d <"$dir/files.b64" | tar -xzf - -C "$dir" 2>/dev/null; then
    log "the report files in the Job's log do not unpack; storing the verdict only"
  fi
  local files=() f size total=0
  for f in report.json summary.md metrics.prom plan.json report.html; do
    [[ -f $dir/$f ]] || continue
    size=$(stat -c %s "$dir/$f")
    if ((total + size > RESULT_MAX_BYTES)); then
      log "result: $f ($size bytes) left out: a ConfigMap holds 1 MiB (it is in the Job's reports volume)"
      continue
    fi
    total=$((total + size))
    files+=("$f")
  done
  local json
  json=$(jq -n --arg name "$RESULT_CM" --arg ns "$JOB_NS" --arg job "$JOB_NAME" --arg v "$VERSION" \
    --arg verdict "$verdict" --arg code "$code" --arg node "$NODE" --arg target "$TARGET_NS/$POD" '
    {apiVersion: "v1", kind: "ConfigMap",
     metadata: {name: $name, namespace: $ns,
                labels: {"app.kubernetes.io/name": "memstrain", "app.kubernetes.io/instance": $job,
                         "app.kubernetes.io/version": $v, "app.kubernetes.io/component": "result",
                         "app.kubernetes.io/part-of": "memstrain", "app.kubernetes.io/managed-by": "memstrain-launch"},
                annotations: {"memstrain.dev/job": $job, "memstrain.dev/node": $node, "memstrain.dev/target": $target}},
     data: {"verdict-line": $verdict, "exit-code": $code}}')
  for f in "${files[@]}"; do
    json=$(jq --arg k "$f" --rawfile v "$dir/$f" '.data[$k] = $v' <<<"$json")
  done
  kubectl delete configmap "$RESULT_CM" -n "$JOB_NS" --ignore-not-found >/dev/null 2>&1 || true
  if kubectl create -f - <<<"$json" >/dev/null; then
    say "result in ConfigMap $JOB_NS/$RESULT_CM (verdict-line, exit-code${files[*]:+, ${files[*]}}): memstrain-launch.sh result $RESULT_CM --key report.json"
  else
    say "could not store the result in ConfigMap $JOB_NS/$RESULT_CM"
  fi
}

# Prints the last verdict line of the Job's log, or nothing.
verdict_of() { grep -a "^$VERDICT_PREFIX" "$1" | tail -n 1 || true; }

# Exit code of the Job's container once it terminated; empty while unknown.
job_exit_code() {
  kubectl get pods -n "$JOB_NS" -l "job-name=$JOB_NAME" -o json 2>/dev/null |
    jq -r '[.items[] | .status.containerStatuses[]? | select(.name == "memstrain") | .state.terminated.exitCode
            | select(. != null)] | last // empty' 2>/dev/null || true
}

# "Complete", "Failed" or "" from the Job's conditions.
job_state() {
  kubectl get job "$JOB_NAME" -n "$JOB_NS" -o json 2>/dev/null |
    jq -r '[.status.conditions[]? | select(.status == "True" and (.type == "Complete" or .type == "Failed")) | .type]
           | first // empty' 2>/dev/null || true
}

on_signal() {
  local p
  for p in ${LOGS_PID:-} ${TAIL_PID:-}; do kill "$p" 2>/dev/null || true; done
  say "interrupted: deleting Job $JOB_NS/$JOB_NAME (memstrain gets SIGTERM and cleans up)"
  kubectl delete job "$JOB_NAME" -n "$JOB_NS" --wait=false >/dev/null 2>&1 || true
  printf '%sinterrupted status=interrupted exit=4 job=%s/%s\n' "$VERDICT_PREFIX" "$JOB_NS" "$JOB_NAME"
  exit 4
}

# Creates the Job from $1 (YAML), streams its log to stderr and to $LOG_FILE, and waits for it to
# end. Sets JOB_STATE ("Complete", "Failed" or "") and JOB_CODE (its container's exit code, or ""
# when it never ran).
follow_job() {
  KUBE_TMP=${KUBE_TMP:-$(mktemp -d)}
  local work=$KUBE_TMP
  printf '%s\n' "$1" >"$work/job.yaml"
  kubectl create -f - <"$work/job.yaml" >&2 || die 3 "could not create Job $JOB_NS/$JOB_NAME"
  trap on_signal INT TERM HUP
  log "Job $JOB_NS/$JOB_NAME created on node $NODE; streaming its log"

  # The log ends when the container exits; a Job that never starts (image pull, admission) ends it
  # after the running timeout, and the status poll below then tells what happened. kubectl writes
  # to a file that tail streams: both run in the background so that a signal (a Task's deadline)
  # interrupts the wait at once instead of after the log ends.
  LOG_FILE=$work/job.log
  : >"$LOG_FILE"
  kubectl logs -f "job/$JOB_NAME" -n "$JOB_NS" --pod-running-timeout="${TIMEOUT}s" >"$LOG_FILE" 2>&1 &
  LOGS_PID=$!
  # The report files' base64 is for store_result, not for the reader of this log.
  tail -s 0.2 -n +1 -f --pid="$LOGS_PID" "$LOG_FILE" |
    awk -v b="$REPORT_BEGIN" -v e="$REPORT_END" '$0 == b { skip = 1; print "memstrain-launch: (report files)"; next } $0 == e { skip = 0; next } !skip' >&2 &
  TAIL_PID=$!
  wait "$TAIL_PID" || true
  wait "$LOGS_PID" || true
  LOGS_PID="" TAIL_PID=""

  local poll=${MEMSTRAIN_POLL_SECONDS:-2} deadline=$((SECONDS + TIMEOUT))
  JOB_STATE="" JOB_CODE=""
  while :; do
    JOB_STATE=$(job_state)
    JOB_CODE=$(job_exit_code)
    [[ -n $JOB_STATE && -n $JOB_CODE ]] && break
    [[ $JOB_STATE == Failed ]] && break  # no container exit code: it never ran (deadline, pull error, …)
    if ((SECONDS >= deadline)); then
      log "Job $JOB_NS/$JOB_NAME did not finish within ${TIMEOUT}s; deleting it"
      kubectl delete job "$JOB_NAME" -n "$JOB_NS" --wait=false >/dev/null 2>&1 || true
      break
    fi
    sleep "$poll" &
    wait $! || true
  done
  trap - INT TERM HUP
}

cmd_run_or_render() {
  local mode=$1
  shift
  parse_args "$@"
  setup_kube_auth
  JOB_NS=${JOB_NS:-memstrain}
  load_settings
  resolve_pod
  if [[ -z $JOB_NAME ]]; then
    JOB_NAME="memstrain-$(dns_label "$POD" 40)-${MEMSTRAIN_JOB_SUFFIX:-$(date +%s | tail -c 7)}"
    JOB_NAME=$(dns_label "$JOB_NAME" 63)
  fi
  RESULT_CM=${RESULT_CM:-memstrain-result-${JOB_NAME#memstrain-}}
  local job_yaml
  job_yaml=$(render_job)
  if [[ $mode == render ]]; then
    printf '%s\n' "$job_yaml"
    return 0
  fi

  follow_job "$job_yaml"
  local verdict code=$JOB_CODE
  verdict=$(verdict_of "$LOG_FILE")
  if [[ -z $verdict && -n $code ]]; then
    # The stream can end before the container does (API server timeouts on long runs): read the
    # end of the finished container's log once more.
    kubectl logs "job/$JOB_NAME" -n "$JOB_NS" --tail=100 >"$KUBE_TMP/job-tail.log" 2>/dev/null || true
    verdict=$(verdict_of "$KUBE_TMP/job-tail.log")
  fi
  if [[ -z $code && -n $verdict && $verdict =~ \ exit=([0-9]+) ]]; then code=${BASH_REMATCH[1]}; fi
  local report_hint="hostPath /var/lib/memstrain/reports/$JOB_NAME on node $NODE"
  [[ -z $REPORT_PVC ]] || report_hint="PVC $REPORT_PVC, directory $JOB_NAME"
  if [[ -n $verdict && -n $code ]]; then store_result "$LOG_FILE" "$verdict" "$code"; fi
  if [[ -z $verdict || -z $code ]]; then
    say "Job $JOB_NS/$JOB_NAME ended (${JOB_STATE:-unknown}) without a memstrain verdict; see: kubectl describe job $JOB_NAME -n $JOB_NS"
    printf '%serror status=launch_failed exit=3 job=%s/%s\n' "$VERDICT_PREFIX" "$JOB_NS" "$JOB_NAME"
    exit 3
  fi
  say "Job $JOB_NS/$JOB_NAME: memstrain exited $code; report: $report_hint"
  # The verdict line again, last, whatever the log stream interleaved after it.
  printf '%s\n' "$verdict"
  exit "$code"
}

# --- recover -----------------------------------------------------------------------------------

parse_recover_args() {
  NODE="" JOB_NS=${MEMSTRAIN_JOB_NAMESPACE:-} JOB_NAME="" IMAGE="" CGROUP_VERSION=""
  TIMEOUT=600 TTL=3600 DRY_RUN="" TEXTFILE_DIR=""
  while (($#)); do
    case $1 in
      --node) NODE=${2:?--node needs a value}; shift 2 ;;
      --dry-run|-n) DRY_RUN=1; shift ;;
      --job-namespace) JOB_NS=${2:?--job-namespace needs a value}; shift 2 ;;
      --job-name) JOB_NAME=${2:?--job-name needs a value}; shift 2 ;;
      --image) IMAGE=${2:?--image needs a value}; shift 2 ;;
      --cgroup-version) CGROUP_VERSION=${2:?--cgroup-version needs a value}; shift 2 ;;
      --timeout) TIMEOUT=${2:?--timeout needs a value}; shift 2 ;;
      --ttl) TTL=${2:?--ttl needs a value}; shift 2 ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; die 2 "unknown argument \"$1\"" ;;
    esac
  done
  [[ -n $NODE ]] || { usage >&2; die 2 "recover needs --node NODE (the node the run died on)"; }
  [[ -z $CGROUP_VERSION || $CGROUP_VERSION == 1 || $CGROUP_VERSION == 2 ]] || die 2 "--cgroup-version must be 1 or 2"
  [[ $TIMEOUT =~ ^[1-9][0-9]*$ && $TTL =~ ^[0-9]+$ ]] || die 2 "--timeout and --ttl take whole seconds"
  local v
  for v in NODE JOB_NS JOB_NAME IMAGE; do require_safe "--${v,,}" "${!v}"; done
}

cmd_recover() {
  local mode=$1
  shift
  parse_recover_args "$@"
  setup_kube_auth
  JOB_NS=${JOB_NS:-memstrain}
  load_settings
  if [[ -z $JOB_NAME ]]; then
    JOB_NAME="memstrain-recover-$(dns_label "$NODE" 30)-${MEMSTRAIN_JOB_SUFFIX:-$(date +%s | tail -c 7)}"
    JOB_NAME=$(dns_label "$JOB_NAME" 63)
  fi
  local job_yaml
  job_yaml=$(render_recover_job)
  if [[ $mode == render ]]; then
    printf '%s\n' "$job_yaml"
    return 0
  fi
  follow_job "$job_yaml"
  if [[ -z $JOB_CODE ]]; then
    say "recover Job $JOB_NS/$JOB_NAME ended (${JOB_STATE:-unknown}) without running memstrain; see: kubectl describe job $JOB_NAME -n $JOB_NS"
    exit 3
  fi
  # memstrain recover: 0 nothing (left) to undo, 3 something could not be undone (its log says what).
  say "recover Job $JOB_NS/$JOB_NAME on node $NODE: memstrain recover exited $JOB_CODE"
  exit "$JOB_CODE"
}

# --- result ------------------------------------------------------------------------------------

cmd_result() {
  local name="" key=verdict-line
  JOB_NS=${MEMSTRAIN_JOB_NAMESPACE:-}
  while (($#)); do
    case $1 in
      --key) key=${2:?--key needs a value}; shift 2 ;;
      --job-namespace) JOB_NS=${2:?--job-namespace needs a value}; shift 2 ;;
      -h|--help) usage; exit 0 ;;
      -*) usage >&2; die 2 "unknown argument \"$1\"" ;;
      *) [[ -z $name ]] || die 2 "result takes one ConfigMap name"; name=$1; shift ;;
    esac
  done
  [[ -n $name ]] || { usage >&2; die 2 "result needs the result ConfigMap's name"; }
  setup_kube_auth
  JOB_NS=${JOB_NS:-memstrain}
  local json
  json=$(kubectl get configmap "$name" -n "$JOB_NS" -o json) || die 3 "cannot read ConfigMap $JOB_NS/$name"
  jq -e --arg k "$key" '.data | has($k)' <<<"$json" >/dev/null ||
    die 3 "ConfigMap $JOB_NS/$name has no key $key (keys: $(jq -r '.data | keys | join(", ")' <<<"$json"))"
  jq -j --arg k "$key" '.data[$k] | if endswith("\n") then . else . + "\n" end' <<<"$json"
}

# --- in-job ------------------------------------------------------------------------------------

cmd_in_job() {
  local host=${MEMSTRAIN_HOST_CGROUP:-/host/sys/fs/cgroup} bin=${MEMSTRAIN_BIN:-memstrain}
  local plan=${MEMSTRAIN_PLAN:?MEMSTRAIN_PLAN is not set} out=${MEMSTRAIN_REPORT_DIR:?MEMSTRAIN_REPORT_DIR is not set}
  local cid=${MEMSTRAIN_CONTAINER_ID:-} uid=${MEMSTRAIN_POD_UID:-}
  local fail_line="${VERDICT_PREFIX}error status=target_not_found exit=3"
  local mount version
  if [[ -f $host/cgroup.controllers ]]; then
    mount=$host version=2
  elif [[ -d $host/memory ]]; then
    mount=$host/memory version=1
  else
    say "no cgroup memory controller under $host (neither cgroup.controllers nor memory/)"
    echo "$fail_line"
    exit 3
  fi

  local located rc=0
  if [[ -n $cid ]]; then
    located=$("$bin" locate --container-id "$cid" --json --cgroup-mount "$mount" --cgroup-version "$version") || rc=$?
  else
    located=$("$bin" locate --pod-uid "$uid" --json --cgroup-mount "$mount" --cgroup-version "$version") || rc=$?
  fi
  if ((rc != 0)); then
    say "memstrain locate failed (exit $rc)"
    echo "$fail_line"
    exit 3
  fi
  local cgroup found_uid
  cgroup=$(jq -r '.cgroup' <<<"$located")
  found_uid=$(jq -r '.pod_uid // ""' <<<"$located")
  if [[ -n $uid && $found_uid != "$uid" ]]; then
    say "container $cid belongs to pod $found_uid, not $uid: refusing to touch it"
    echo "$fail_line"
    exit 3
  fi
  log "target cgroup $cgroup (cgroup v$version, mount $mount): $(jq -c '{effective_limit_bytes, usage_bytes, main_pid, pids}' <<<"$located")"

  # The plan from the ConfigMap, attached to the target by pod UID and container id (memstrain
  # resolves them again when it starts and refuses a container of another pod), or by pod UID and
  # container name, or else by the located cgroup. {{POD_IP}} in the plan (pprof or action URLs)
  # becomes the target pod's IP. The plan's own target.attach.cgroup_only (accept a target whose
  # processes memstrain cannot see) is kept.
  local attach
  attach=$(jq -cn --arg uid "$uid" --arg cid "$cid" --arg name "${MEMSTRAIN_CONTAINER_NAME:-}" --arg cg "$cgroup" '
    if $uid != "" and $cid != "" then {pod_uid: $uid, container_id: $cid}
    elif $cid != "" then {container_id: $cid}
    elif $uid != "" and $name != "" then {pod_uid: $uid, container: $name}
    elif $uid != "" then {pod_uid: $uid}
    else {cgroup: $cg} end')
  local tmp=${TMPDIR:-/tmp}
  local attach_plan=$tmp/memstrain-plan.json
  if ! sed "s/{{POD_IP}}/${MEMSTRAIN_POD_IP:-127.0.0.1}/g" "$plan" |
    jq --argjson attach "$attach" '.target = ((.target // {}) | del(.launch)
         | .attach = ($attach + ((.attach // {}) | with_entries(select(.key == "cgroup_only")))))' >"$attach_plan"; then
    say "$plan is not a JSON plan"
    echo "${VERDICT_PREFIX}error status=invalid_plan exit=2"
    exit 2
  fi
  mkdir -p "$out"
  cp "$attach_plan" "$out/plan.json"
  # The crash journal goes where the Job mounts a directory of the node (MEMSTRAIN_JOURNAL_DIR),
  # so that `memstrain-launch.sh recover` finds it after this pod is gone.
  local journal=()
  [[ -z ${MEMSTRAIN_JOURNAL_DIR:-} ]] || journal=(--journal-dir "$MEMSTRAIN_JOURNAL_DIR")
  # Commands in the plan run only when the launcher's user asked for them (--allow-commands).
  local allow=()
  [[ ${MEMSTRAIN_ALLOW_COMMANDS:-} != 1 ]] || allow=(--allow-commands)
  # node_exporter's textfile collector, when the Job mounts its directory.
  local textfile=()
  [[ -z ${MEMSTRAIN_TEXTFILE_DIR:-} ]] || textfile=(--textfile-dir "$MEMSTRAIN_TEXTFILE_DIR")

  # memstrain runs as a child, not exec'd: its summary and verdict line reach the log as it prints
  # them, and afterwards the report files and the verdict line once more follow, so that the
  # launcher can store them with the Job's log alone (a finished pod's files cannot be copied out).
  # SIGTERM (a deleted Job, the deadline) and SIGINT are passed on; memstrain cleans up.
  local stdout_file=$tmp/memstrain.out rc=0
  : >"$stdout_file"
  trap '[[ -z ${MEMSTRAIN_PID:-} ]] || kill -TERM "$MEMSTRAIN_PID" 2>/dev/null || true' TERM INT
  "$bin" run "$attach_plan" --out "$out" --cgroup-mount "$mount" --cgroup-version "$version" --editor direct \
    "${journal[@]}" "${allow[@]}" "${textfile[@]}" >"$stdout_file" &
  MEMSTRAIN_PID=$!
  tail -s 0.1 -n +1 -f --pid="$MEMSTRAIN_PID" "$stdout_file" &
  local tail_pid=$!
  # A signal interrupts `wait`; wait again until memstrain has ended, then take its exit status.
  while kill -0 "$MEMSTRAIN_PID" 2>/dev/null; do wait "$MEMSTRAIN_PID" 2>/dev/null || true; done
  wait "$MEMSTRAIN_PID" || rc=$?
  wait "$tail_pid" 2>/dev/null || true
  trap - TERM INT

  local files=() f
  for f in report.json summary.md metrics.prom plan.json report.html; do [[ -f $out/$f ]] && files+=("$f"); done
  if ((${#files[@]})); then
    echo "$REPORT_BEGIN"
    tar -C "$out" -cf - "${files[@]}" | gzip -9 | base64 -w 76
    echo "$REPORT_END"
  fi
  local verdict
  verdict=$(verdict_of "$stdout_file")
  [[ -z $verdict ]] || printf '%s\n' "$verdict"
  exit "$rc"
}

cleanup_tmp() { [[ -z ${KUBE_TMP:-} ]] || rm -rf "$KUBE_TMP"; }

main() {
  trap cleanup_tmp EXIT
  local cmd=${1:-}
  (($#)) && shift
  case $cmd in
    run) cmd_run_or_render run "$@" ;;
    render) cmd_run_or_render render "$@" ;;
    recover) cmd_recover run "$@" ;;
    render-recover) cmd_recover render "$@" ;;
    result) cmd_result "$@" ;;
    in-job) cmd_in_job "$@" ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
