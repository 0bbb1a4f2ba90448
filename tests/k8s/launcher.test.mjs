// k8s/memstrain-launch.sh against a fake kubectl (tests/k8s/fake-bin/kubectl) that records its
// calls and answers with canned pod JSON, Job status and Job logs; and its in-job half against a
// fake memstrain and a fake host cgroup directory.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import yaml from "js-yaml";
import { loadYamlFile, repoRoot, validateObject } from "./lib/k8s-schemas.mjs";
import { kustomize } from "./lib/kustomize.mjs";

const launcher = path.join(repoRoot, "k8s/memstrain-launch.sh");
const fakeBin = path.join(repoRoot, "tests/k8s/fake-bin");
const fixture = (name) => JSON.parse(fs.readFileSync(path.join(repoRoot, "tests/k8s/fixtures", name), "utf8"));

const DEMO = fixture("pod-demo-target.json");
const DEMO_JOB = "memstrain-demo-target-6d8f7c9b5d-qx2lp-test";
const verdictLine = (verdict, exit) =>
  `memstrain: verdict=${verdict} checks=4/4 status=completed cleanup=ok exit=${exit} target_oom_kills=0 ` +
  `stressor_oom_kills=0 report=/reports/${DEMO_JOB}/report.json`;

function tmpdir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// A fake cluster in a directory: what the fake kubectl answers.
function fakeCluster({ pod = DEMO, pods = null, exitCode = 0, jobLog = null, jobState = "Complete", terminated = true } = {}) {
  const dir = tmpdir("memstrain-fake-kube-");
  if (pod) fs.writeFileSync(path.join(dir, "pod.json"), JSON.stringify(pod));
  fs.writeFileSync(path.join(dir, "pods.json"), JSON.stringify({ apiVersion: "v1", kind: "List", items: pods ?? (pod ? [pod] : []) }));
  const log = jobLog ?? [
    "memstrain-launch: target cgroup /kubepods/burstable/pod3f6b2a1e-9c4d-4e8f-a7b6-5d4c3b2a1f0e/4c1e0f9d8b7a (cgroup v2)",
    "2026-11-20T10:00:01.000 info stage baseline 1.0s usage 120.0 MiB / 256.0 MiB",
    verdictLine(exitCode === 0 ? "pass" : exitCode === 1 ? "fail" : "inconclusive", exitCode),
    "2026-11-20T10:04:02.000 info a stray log line after the verdict",
  ].join("\n") + "\n";
  fs.writeFileSync(path.join(dir, "job.log"), log);
  fs.writeFileSync(path.join(dir, "job.json"), JSON.stringify({
    apiVersion: "batch/v1", kind: "Job",
    status: jobState ? { conditions: [{ type: jobState, status: "True" }] } : {},
  }));
  const state = terminated ? { terminated: { exitCode, reason: exitCode === 0 ? "Completed" : "Error" } } : { waiting: { reason: "ImagePullBackOff" } };
  fs.writeFileSync(path.join(dir, "job-pods.json"), JSON.stringify({
    apiVersion: "v1", kind: "List",
    items: [{ metadata: { name: `${DEMO_JOB}-abcde` }, status: { containerStatuses: [{ name: "memstrain", state }] } }],
  }));
  return dir;
}

function envFor(kubeDir, extra = {}) {
  return {
    ...process.env,
    PATH: `${fakeBin}:${process.env.PATH}`,
    FAKE_KUBE_DIR: kubeDir,
    MEMSTRAIN_POLL_SECONDS: "0",
    MEMSTRAIN_JOB_SUFFIX: "test",
    MEMSTRAIN_TOKEN_DIR: "/nonexistent-memstrain-token",
    ...extra,
  };
}

// Runs the launcher with stdout and stderr on one pipe, in the order they were written, as a
// Chaos Mesh Task's log has them.
function launch(args, kubeDir, extraEnv = {}) {
  const r = spawnSync("bash", ["-c", 'exec bash "$0" "$@" 2>&1', launcher, ...args], {
    // A guard against a hung launcher only, not a timing assertion: on a machine busy with builds a
    // run of ~10 fake kubectl calls (each a node process) took over a minute.
    env: envFor(kubeDir, extraEnv), encoding: "utf8", timeout: 600_000,
  });
  assert.ok(!r.error, `the launcher did not end: ${r.error}\n${r.stdout}`);
  const calls = fs.existsSync(path.join(kubeDir, "calls.jsonl"))
    ? fs.readFileSync(path.join(kubeDir, "calls.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l))
    : [];
  const createdFile = path.join(kubeDir, "created.yaml");
  const job = fs.existsSync(createdFile) ? yaml.load(fs.readFileSync(createdFile, "utf8")) : null;
  const lines = r.stdout.trimEnd().split("\n");
  return { status: r.status, out: r.stdout, last: lines[lines.length - 1], calls, job };
}

const RUN = ["run", "--pod", "demo-target-6d8f7c9b5d-qx2lp", "--namespace", "staging", "--plan-configmap", "memstrain-plan",
             "--plan-key", "beside.json", "--job-namespace", "memstrain", "--image", "memstrain:0.1.0"];

// The one node a Job may run on: required node affinity on the node's name (no nodeName: the
// scheduler places it).
function nodeOf(job) {
  const spec = job.spec.template.spec;
  assert.equal(spec.nodeName, undefined, "no nodeName: the scheduler places the Job");
  const terms = spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
  assert.equal(terms.length, 1);
  assert.deepEqual(terms[0].matchFields.map((f) => [f.key, f.operator]), [["metadata.name", "In"]]);
  assert.equal(terms[0].matchFields[0].values.length, 1);
  return terms[0].matchFields[0].values[0];
}

const envOf = (job) => Object.fromEntries(job.spec.template.spec.containers[0].env.map((e) => [e.name, e.value]));

test("run: renders the Job on the target's node with its UID, container and plan, and passes exit 0 and the verdict through", async () => {
  const kube = fakeCluster();
  const r = launch(RUN, kube);
  assert.equal(r.status, 0, r.out);
  assert.equal(r.last, verdictLine("pass", 0), "the verdict line is the last line");
  assert.ok(r.job, "a Job was created");
  assert.deepEqual(await validateObject(r.job), [], "the rendered Job validates");
  const spec = r.job.spec.template.spec;
  assert.equal(r.job.metadata.name, DEMO_JOB);
  assert.equal(r.job.metadata.namespace, "memstrain");
  assert.equal(nodeOf(r.job), "kind-worker2");
  assert.equal(spec.hostPID, true);
  assert.deepEqual(spec.tolerations, DEMO.spec.tolerations, "the target's tolerations");
  const env = envOf(r.job);
  assert.equal(env.MEMSTRAIN_POD_UID, "3f6b2a1e-9c4d-4e8f-a7b6-5d4c3b2a1f0e");
  assert.equal(env.MEMSTRAIN_CONTAINER_ID, DEMO.status.containerStatuses[0].containerID);
  assert.equal(env.MEMSTRAIN_POD_IP, "10.244.2.7");
  assert.equal(env.MEMSTRAIN_REPORT_DIR, `/reports/${DEMO_JOB}`);
  const plan = spec.volumes.find((v) => v.name === "plan").configMap;
  assert.deepEqual(plan, { name: "memstrain-plan", items: [{ key: "beside.json", path: "plan.json" }] });
  assert.equal(spec.containers[0].securityContext.privileged, true, "cgroup v2 by default");
  // Settings, the pod, the Job, its log and state; then the result ConfigMap (the log had no report
  // files, so the whole log is read once more first).
  assert.deepEqual(r.calls.map((c) => c.args.slice(0, 2)), [
    ["get", "configmap"], ["get", "pod"], ["create", "-f"], ["logs", "-f"], ["get", "job"], ["get", "pods"],
    ["logs", `job/${DEMO_JOB}`], ["delete", "configmap"], ["create", "-f"],
  ]);
  assert.ok(r.calls.every((c) => c.kubeconfig === null), "no token dir: the ambient kubeconfig");
  // The Job's log is streamed: its lines appear before the launcher's summary.
  assert.ok(r.out.indexOf("info stage baseline") < r.out.lastIndexOf("memstrain-launch: Job memstrain/"));
});

for (const code of [1, 2, 3, 4, 5]) {
  test(`run: memstrain's exit code ${code} is the launcher's, verdict line last`, () => {
    const r = launch(RUN, fakeCluster({ exitCode: code }));
    assert.equal(r.status, code, r.out);
    assert.match(r.last, new RegExp(`^memstrain: verdict=\\S+ .* exit=${code} `));
  });
}

test("run: a Job that never ran memstrain exits 3 with a verdict line of its own", () => {
  const r = launch(RUN, fakeCluster({ jobLog: "error: timed out waiting for the condition\n", jobState: "Failed", terminated: false }));
  assert.equal(r.status, 3, r.out);
  assert.equal(r.last, `memstrain: verdict=error status=launch_failed exit=3 job=memstrain/${DEMO_JOB}`);
  assert.match(r.out, /without a memstrain verdict; see: kubectl describe job/);
});

test("run: a log stream cut short before the verdict is read again once the container ended", () => {
  const kube = fakeCluster({ exitCode: 1, jobLog: "2026-11-20T10:00:01.000 info stage baseline\n" });
  fs.writeFileSync(path.join(kube, "job.tail.log"), `info stage release\n${verdictLine("fail", 1)}\n`);
  const r = launch(RUN, kube);
  assert.equal(r.status, 1, r.out);
  assert.equal(r.last, verdictLine("fail", 1));
  assert.ok(r.calls.some((c) => c.args[0] === "logs" && !c.args.includes("-f")));
});

test("run: --cgroup-version 1 renders an unprivileged Job with only SYS_PTRACE", async () => {
  const r = launch([...RUN, "--cgroup-version", "1"], fakeCluster());
  assert.equal(r.status, 0, r.out);
  assert.deepEqual(await validateObject(r.job), []);
  const sc = r.job.spec.template.spec.containers[0].securityContext;
  assert.equal(sc.privileged, false);
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.equal(sc.runAsUser, 0);
  assert.deepEqual(sc.capabilities, { drop: ["ALL"], add: ["SYS_PTRACE"] });
  assert.deepEqual(sc.seccompProfile, { type: "RuntimeDefault" });
});

test("run: --report-pvc puts reports on the claim", async () => {
  const r = launch([...RUN, "--report-pvc", "memstrain-reports"], fakeCluster());
  assert.equal(r.status, 0, r.out);
  assert.deepEqual(await validateObject(r.job), []);
  const v = r.job.spec.template.spec.volumes.find((x) => x.name === "reports");
  assert.deepEqual(v, { name: "reports", persistentVolumeClaim: { claimName: "memstrain-reports" } });
});

test("run: --selector picks the Running pod, by name", () => {
  const pending = { ...DEMO, metadata: { ...DEMO.metadata, name: "demo-target-aaaa-pending" }, status: { phase: "Pending" } };
  const kube = fakeCluster({ pods: [pending, DEMO] });
  const r = launch(["run", "--selector", "app=demo-target", "-n", "staging", "--plan-configmap", "memstrain-plan"], kube);
  assert.equal(r.status, 0, r.out);
  assert.deepEqual(r.calls.find((c) => c.args[1] === "pods").args, ["get", "pods", "-n", "staging", "-l", "app=demo-target", "-o", "json"]);
  assert.equal(r.job.metadata.annotations["memstrain.dev/target"], "staging/demo-target-6d8f7c9b5d-qx2lp");
});

test("run: a pod with several containers needs --container, which picks that container's id", () => {
  const two = fixture("pod-two-containers.json");
  const args = ["run", "--pod", two.metadata.name, "-n", "staging", "--plan-configmap", "memstrain-plan"];
  const r = launch(args, fakeCluster({ pod: two }));
  assert.equal(r.status, 2, r.out);
  assert.match(r.out, /has containers: checkout envoy; choose one with --container/);
  assert.ok(!r.calls.some((c) => c.args[0] === "create"), "nothing created");
  const ok = launch([...args, "--container", "envoy"], fakeCluster({ pod: two }));
  assert.equal(ok.status, 0, ok.out);
  assert.equal(envOf(ok.job).MEMSTRAIN_CONTAINER_ID, two.status.containerStatuses[1].containerID);
  assert.equal(nodeOf(ok.job), "kind-worker");
});

test("run: a pod that is missing or not Running is an error before anything is created", () => {
  const missing = launch(RUN, fakeCluster({ pod: null }));
  assert.equal(missing.status, 3, missing.out);
  assert.match(missing.out, /cannot read pod staging\/demo-target-6d8f7c9b5d-qx2lp/);
  const pending = launch(RUN, fakeCluster({ pod: { ...DEMO, status: { phase: "Pending" } } }));
  assert.equal(pending.status, 3, pending.out);
  assert.match(pending.out, /is Pending, not Running/);
  for (const r of [missing, pending]) assert.ok(!r.calls.some((c) => c.args[0] === "create"));
});

test("run: usage errors exit 2", () => {
  const kube = fakeCluster();
  assert.equal(launch([], kube).status, 2);
  assert.equal(launch(["run", "--pod", "x"], kube).status, 2, "--plan-configmap is required");
  assert.equal(launch(["run", "--pod", "x", "--selector", "a=b", "--plan-configmap", "p"], kube).status, 2);
  assert.equal(launch([...RUN, "--cgroup-version", "3"], kube).status, 2);
  assert.equal(launch([...RUN, "--bogus"], kube).status, 2);
  assert.equal(launch([...RUN, "--image", 'x" injected: "y'], kube).status, 2, "values are checked before they go into YAML");
  assert.ok(!fs.existsSync(path.join(kube, "created.yaml")));
});

test("run: with the launcher token mounted, kubectl gets a kubeconfig built from it", () => {
  const tokenDir = tmpdir("memstrain-token-");
  fs.writeFileSync(path.join(tokenDir, "token"), "not-a-real-token");
  fs.writeFileSync(path.join(tokenDir, "ca.crt"), "not-a-real-ca");
  fs.writeFileSync(path.join(tokenDir, "namespace"), "memstrain-ops");
  const args = RUN.filter((a, i) => a !== "--job-namespace" && RUN[i - 1] !== "--job-namespace");
  const r = launch(args, fakeCluster(), {
    MEMSTRAIN_TOKEN_DIR: tokenDir, KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443",
  });
  assert.equal(r.status, 0, r.out);
  for (const c of r.calls) {
    assert.ok(c.kubeconfig, `${c.args.join(" ")} has KUBECONFIG`);
    assert.match(c.kubeconfigText, new RegExp(`tokenFile: ${tokenDir}/token`));
    assert.match(c.kubeconfigText, /server: https:\/\/10\.96\.0\.1:443/);
  }
  assert.equal(r.job.metadata.namespace, "memstrain-ops", "the token's namespace is the Job namespace");
  assert.ok(!fs.existsSync(r.calls[0].kubeconfig), "the kubeconfig is removed afterwards");
});

test("run: the Roles of the rendered base and target access allow every API call the launcher made", () => {
  const r = launch(RUN, fakeCluster());
  assert.equal(r.status, 0);
  const roles = [...kustomize(path.join(repoRoot, "k8s/overlays/cgroup-v2")), ...kustomize(path.join(repoRoot, "k8s/target-access"))]
    .filter((d) => d.kind === "Role");
  const allowed = (ns, resource, verb) => roles.some((role) => role.metadata.namespace === ns &&
    role.rules.some((rule) => rule.resources.includes(resource) && rule.verbs.includes(verb)));
  const needs = [];
  for (const c of r.calls) {
    const { args } = c;
    const ns = args[args.indexOf("-n") + 1];
    if (args[0] === "get" && args[1] === "pod") needs.push([ns, "pods", "get"]);
    if (args[0] === "get" && args[1] === "pods") needs.push([ns, "pods", "list"]);
    if (args[0] === "get" && args[1] === "job") needs.push([ns, "jobs", "get"]);
    if (args[0] === "get" && args[1] === "configmap") needs.push([ns, "configmaps", "get"]);
    if (args[0] === "create") needs.push([r.job.metadata.namespace, /^\s*\{/.test(c.stdin ?? "") ? "configmaps" : "jobs", "create"]);
    if (args[0] === "delete") needs.push([ns, args[1] === "configmap" ? "configmaps" : "jobs", "delete"]);
    // `kubectl logs job/J` reads the Job, lists its pods, then reads the log.
    if (args[0] === "logs") needs.push([ns, "jobs", "get"], [ns, "pods", "list"], [ns, "pods/log", "get"]);
  }
  assert.ok(needs.length >= 6);
  for (const n of [["memstrain", "configmaps", "create"], ["memstrain", "configmaps", "delete"], ["memstrain", "jobs", "create"]]) {
    assert.ok(needs.some((x) => x.join(" ") === n.join(" ")), `the launcher did ${n.join(" ")}`);
  }
  for (const n of needs) assert.ok(allowed(...n), `Role allows ${n.join(" ")}`);
});

// The report files as in-job prints them into the Job's log: tar.gz, base64, between two markers.
function reportBlock(files) {
  const dir = tmpdir("memstrain-report-");
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  const tar = spawnSync("bash", ["-c", 'tar -C "$0" -cf - "$@" | gzip -9 | base64 -w 76', dir, ...Object.keys(files)], { encoding: "utf8" });
  assert.equal(tar.status, 0, tar.stderr);
  return ["memstrain-launch: report files (tar.gz, base64) for memstrain-launch.sh follow", tar.stdout.trimEnd(),
          "memstrain-launch: end of report files"].join("\n");
}

test("run: the result (verdict, exit code, report files from the Job's log) goes to a ConfigMap that `result` reads", () => {
  const report = JSON.stringify({ verdict: "fail", checks: [{ name: "no_target_oom", ok: false }] }, null, 2) + "\n";
  const jobLog = ["info stage baseline", verdictLine("fail", 1),
                  reportBlock({ "report.json": report, "summary.md": "# memstrain: fail\n" }), verdictLine("fail", 1)].join("\n") + "\n";
  const kube = fakeCluster({ exitCode: 1, jobLog });
  const r = launch([...RUN, "--result-configmap", "memstrain-result-demo-target"], kube);
  assert.equal(r.status, 1, r.out);
  assert.equal(r.last, verdictLine("fail", 1));
  assert.doesNotMatch(r.out, /^H4sI/m, "the base64 of the report files is not shown to the reader of the log");
  assert.match(r.out, /memstrain-launch: \(report files\)/);
  assert.ok(!r.calls.some((c) => c.args[0] === "logs" && !c.args.includes("-f")), "the streamed log had the files: no second read");
  const cm = JSON.parse(fs.readFileSync(path.join(kube, "created-configmap.json"), "utf8"));
  assert.equal(cm.metadata.name, "memstrain-result-demo-target");
  assert.equal(cm.metadata.namespace, "memstrain");
  assert.equal(cm.metadata.labels["app.kubernetes.io/component"], "result");
  assert.equal(cm.metadata.annotations["memstrain.dev/job"], DEMO_JOB);
  assert.equal(cm.metadata.annotations["memstrain.dev/node"], "kind-worker2");
  assert.deepEqual(Object.keys(cm.data).sort(), ["exit-code", "report.json", "summary.md", "verdict-line"]);
  assert.equal(cm.data["report.json"], report);
  assert.equal(cm.data["exit-code"], "1");
  assert.equal(cm.data["verdict-line"], verdictLine("fail", 1));
  assert.deepEqual(r.calls.find((c) => c.args[0] === "delete").args.slice(0, 3), ["delete", "configmap", "memstrain-result-demo-target"],
    "a result of the same name is replaced");

  // `result` prints a key of it, with kubectl alone (the fake answers with the ConfigMap just created).
  fs.writeFileSync(path.join(kube, "configmap-memstrain-result-demo-target.json"), JSON.stringify(cm));
  const read = (...args) => spawnSync("bash", [launcher, "result", "memstrain-result-demo-target", ...args], { env: envFor(kube), encoding: "utf8" });
  assert.equal(read().stdout, verdictLine("fail", 1) + "\n");
  assert.equal(read("--key", "report.json").stdout, report);
  const missing = read("--key", "report.html");
  assert.equal(missing.status, 3);
  assert.match(missing.stderr, /has no key report\.html \(keys: exit-code, report\.json, summary\.md, verdict-line\)/);
});

test("run: a result ConfigMap name that memstrain-results would refuse is a usage error", () => {
  const kube = fakeCluster();
  const r = launch([...RUN, "--result-configmap", "memstrain-settings"], kube);
  assert.equal(r.status, 2, r.out);
  assert.match(r.out, /starting with memstrain-result-/);
  assert.ok(!r.calls.some((c) => c.args[0] === "create"), "nothing created");
});

test("run: image, cgroup version and textfile directory come from memstrain-settings; options win", () => {
  const kube = fakeCluster();
  fs.writeFileSync(path.join(kube, "configmap-memstrain-settings.json"), JSON.stringify({
    apiVersion: "v1", kind: "ConfigMap", metadata: { name: "memstrain-settings", namespace: "memstrain" },
    data: { image: "registry.example/memstrain@sha256:" + "cd".repeat(32), cgroupVersion: "1", textfileDir: "/var/lib/node_exporter/textfile_collector",
            targetNamespaces: "staging", allowCommands: "false" },
  }));
  const args = RUN.filter((a, i) => a !== "--image" && RUN[i - 1] !== "--image");
  const r = launch(args, kube);
  assert.equal(r.status, 0, r.out);
  const c = r.job.spec.template.spec.containers[0];
  assert.equal(c.image, "registry.example/memstrain@sha256:" + "cd".repeat(32));
  assert.equal(c.securityContext.privileged, false, "cgroup v1 from the settings");
  assert.equal(envOf(r.job).MEMSTRAIN_TEXTFILE_DIR, "/textfile");
  assert.deepEqual(c.volumeMounts.find((m) => m.name === "textfile"), { name: "textfile", mountPath: "/textfile" });
  assert.deepEqual(r.job.spec.template.spec.volumes.find((v) => v.name === "textfile").hostPath,
    { path: "/var/lib/node_exporter/textfile_collector", type: "Directory" });
  const wins = launch([...args, "--cgroup-version", "2", "--textfile-dir", ""], fakeCluster());
  assert.equal(wins.status, 0, wins.out);
  assert.equal(wins.job.spec.template.spec.containers[0].securityContext.privileged, true);
  assert.ok(!wins.job.spec.template.spec.volumes.some((v) => v.name === "textfile"), "--textfile-dir \"\": none");
});

test("in-job: passes the textfile directory the Job mounts to memstrain run", () => {
  const r = inJob({ env: { MEMSTRAIN_TEXTFILE_DIR: "/textfile" } });
  assert.match(r.calls[1], / --textfile-dir \/textfile$/);
  assert.doesNotMatch(inJob().calls[1], /--textfile-dir/);
});

test("run: SIGTERM while the Job runs deletes the Job and exits 4", async () => {
  const kube = fakeCluster();
  const child = spawn("bash", [launcher, ...RUN], { env: envFor(kube, { FAKE_LOGS_SLEEP_MS: "3000" }) });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const calls = path.join(kube, "calls.jsonl");
  for (let i = 0; i < 200 && !(fs.existsSync(calls) && fs.readFileSync(calls, "utf8").includes('"logs"')); i++) {
    await new Promise((res) => setTimeout(res, 25));
  }
  child.kill("SIGTERM");
  const status = await new Promise((res) => child.on("exit", (code) => res(code)));
  assert.equal(status, 4, out);
  assert.match(fs.readFileSync(calls, "utf8"), /"delete","job","memstrain-demo-target-6d8f7c9b5d-qx2lp-test"/);
  assert.match(out.trimEnd().split("\n").pop(), /^memstrain: verdict=interrupted status=interrupted exit=4 /);
});

test("run: the Job keeps its crash journal in a hostPath directory of the node and passes it to memstrain", () => {
  const r = launch(RUN, fakeCluster());
  assert.equal(r.status, 0, r.out);
  const spec = r.job.spec.template.spec;
  const c = spec.containers[0];
  assert.equal(envOf(r.job).MEMSTRAIN_JOURNAL_DIR, "/run/memstrain/jobs");
  assert.deepEqual(c.volumeMounts.find((m) => m.name === "journal"), { name: "journal", mountPath: "/run/memstrain/jobs" });
  assert.deepEqual(spec.volumes.find((v) => v.name === "journal"),
    { name: "journal", hostPath: { path: "/run/memstrain/jobs", type: "DirectoryOrCreate" } });
  assert.equal(c.securityContext.readOnlyRootFilesystem, true, "the journal is why a writable mount is needed");
});

const RECOVER = ["recover", "--node", "kind-worker2", "--job-namespace", "memstrain", "--image", "memstrain:0.1.0"];

test("recover: a Job on the node runs memstrain recover over the run Jobs' journals with their view of the node", async () => {
  const kube = fakeCluster({ jobLog: "memstrain: no dead runs to recover in /run/memstrain/jobs\n" });
  const r = launch(RECOVER, kube);
  assert.equal(r.status, 0, r.out);
  assert.deepEqual(await validateObject(r.job), []);
  assert.equal(r.job.metadata.name, "memstrain-recover-kind-worker2-test");
  const spec = r.job.spec.template.spec;
  assert.equal(nodeOf(r.job), "kind-worker2");
  assert.equal(spec.hostPID, true, "the journals name host pids");
  const c = spec.containers[0];
  assert.deepEqual(c.command, ["memstrain", "recover", "--journal-dir", "/run/memstrain/jobs"]);
  // The same paths as the run Job: journals name the cgroup mount as the run saw it.
  const run = launch(RUN, fakeCluster()).job.spec.template.spec;
  for (const name of ["host-cgroup", "journal"]) {
    assert.deepEqual(c.volumeMounts.find((m) => m.name === name), run.containers[0].volumeMounts.find((m) => m.name === name));
    assert.deepEqual(spec.volumes.find((v) => v.name === name), run.volumes.find((v) => v.name === name));
  }
  assert.deepEqual(c.securityContext, run.containers[0].securityContext);
  assert.deepEqual(r.calls.map((x) => x.args.slice(0, 2)),
    [["get", "configmap"], ["create", "-f"], ["logs", "-f"], ["get", "job"], ["get", "pods"]]);
  assert.match(r.out, /no dead runs to recover/);
});

test("recover: --dry-run is passed on; memstrain recover's exit code is the launcher's; --node is required", async () => {
  const dry = spawnSync("bash", [launcher, "render-recover", "--node", "kind-worker2", "--dry-run", "--cgroup-version", "1"],
    { env: envFor(fakeCluster()), encoding: "utf8" });
  assert.equal(dry.status, 0, dry.stderr);
  const job = yaml.load(dry.stdout);
  assert.deepEqual(await validateObject(job), []);
  assert.deepEqual(job.spec.template.spec.containers[0].command, ["memstrain", "recover", "--journal-dir", "/run/memstrain/jobs", "--dry-run"]);
  assert.equal(job.spec.template.spec.containers[0].securityContext.privileged, false, "cgroup v1: unprivileged");
  const failed = launch(RECOVER, fakeCluster({ exitCode: 3, jobLog: "  FAILED: rmdir …: Device or resource busy\n" }));
  assert.equal(failed.status, 3, failed.out);
  assert.match(failed.out, /memstrain recover exited 3/);
  const usage = launch(["recover"], fakeCluster());
  assert.equal(usage.status, 2);
  assert.match(usage.out, /recover needs --node NODE/);
});

test("render: matches k8s/job.yaml for the same values", () => {
  const kube = fakeCluster({ pod: fixture("pod-placeholders.json") });
  const r = spawnSync("bash", [launcher, "render", "--pod", "REPLACE-target-pod", "-n", "staging", "--plan-configmap",
    "memstrain-plan", "--plan-key", "beside.json", "--job-name", "memstrain-example", "--job-namespace", "memstrain",
    "--image", "memstrain:0.1.0", "--cgroup-version", "2"], { env: envFor(kube), encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const rendered = yaml.load(r.stdout);
  const committed = loadYamlFile(path.join(repoRoot, "k8s/job.yaml"))[0];
  assert.deepEqual(rendered, committed);
  assert.ok(!fs.existsSync(path.join(kube, "created.yaml")), "render creates nothing");
});

// --- in-job ---------------------------------------------------------------------------------

// A fake memstrain: `locate` answers from $FAKE_LOCATE_JSON (exit $FAKE_LOCATE_EXIT), `run` saves
// its plan and argv and exits $FAKE_RUN_EXIT after printing a verdict line.
function fakeMemstrain(dir) {
  const bin = path.join(dir, "memstrain");
  fs.writeFileSync(bin, `#!/usr/bin/env bash
printf '%s\\n' "$*" >>"${dir}/memstrain-calls"
case $1 in
  locate) [[ \${FAKE_LOCATE_EXIT:-0} == 0 ]] || { echo "memstrain locate: no container cgroup" >&2; exit "$FAKE_LOCATE_EXIT"; }
          printf '%s\\n' "$FAKE_LOCATE_JSON" ;;
  run) cp "$2" "${dir}/run-plan.json"
       echo "stage table" >&2
       echo "memstrain: verdict=inconclusive status=completed cleanup=ok exit=$FAKE_RUN_EXIT report=x"
       exit "$FAKE_RUN_EXIT" ;;
esac
`);
  fs.chmodSync(bin, 0o755);
  return bin;
}

function inJob({ version = 2, locateExit = 0, runExit = 5, podUid = DEMO.metadata.uid, foundUid = DEMO.metadata.uid, env: extra = {},
                 planAttach = { cgroup: "/set-by-the-launcher" }, allowCommands = false } = {}) {
  const dir = tmpdir("memstrain-in-job-");
  const host = path.join(dir, "host-cgroup");
  fs.mkdirSync(host);
  if (version === 2) fs.writeFileSync(path.join(host, "cgroup.controllers"), "cpu memory pids\n");
  else fs.mkdirSync(path.join(host, "memory"));
  const plan = path.join(dir, "plan.json");
  fs.writeFileSync(plan, JSON.stringify({
    name: "p", target: { launch: { command: ["x"], memory_limit: "1GiB" }, attach: planAttach,
                         pprof_url: "http://{{POD_IP}}:6060/debug/pprof" },
    stages: [{ name: "s", duration: "1s" }],
  }));
  const cgroup = `/kubepods/burstable/pod${DEMO.metadata.uid}/4c1e0f9d8b7a6c5e`;
  const env = {
    ...process.env,
    MEMSTRAIN_BIN: fakeMemstrain(dir),
    MEMSTRAIN_HOST_CGROUP: host,
    MEMSTRAIN_PLAN: plan,
    MEMSTRAIN_REPORT_DIR: path.join(dir, "reports/job-1"),
    MEMSTRAIN_POD_UID: podUid,
    MEMSTRAIN_CONTAINER_ID: DEMO.status.containerStatuses[0].containerID,
    MEMSTRAIN_POD_IP: "10.244.2.7",
    TMPDIR: dir,
    FAKE_LOCATE_EXIT: String(locateExit),
    FAKE_LOCATE_JSON: JSON.stringify({ cgroup, pod_uid: foundUid, effective_limit_bytes: 268435456, usage_bytes: 1, main_pid: 42, pids: [42] }),
    FAKE_RUN_EXIT: String(runExit),
    ...extra,
    ...(allowCommands ? { MEMSTRAIN_ALLOW_COMMANDS: "1" } : {}),
  };
  const r = spawnSync("bash", ["-c", 'exec bash "$0" in-job 2>&1', launcher], { env, encoding: "utf8" });
  const calls = fs.existsSync(path.join(dir, "memstrain-calls")) ? fs.readFileSync(path.join(dir, "memstrain-calls"), "utf8").trim().split("\n") : [];
  const runPlan = fs.existsSync(path.join(dir, "run-plan.json")) ? JSON.parse(fs.readFileSync(path.join(dir, "run-plan.json"), "utf8")) : null;
  const lines = r.stdout.trimEnd().split("\n");
  return { status: r.status, out: r.stdout, last: lines[lines.length - 1], calls, runPlan, host, dir, cgroup };
}

test("in-job (cgroup v2): locates by container id, attaches the plan to that pod and container, execs memstrain run", () => {
  const r = inJob();
  assert.equal(r.status, 5, r.out);
  assert.match(r.last, /^memstrain: verdict=inconclusive .*exit=5 /);
  assert.equal(r.calls[0], `locate --container-id ${DEMO.status.containerStatuses[0].containerID} --json --cgroup-mount ${r.host} --cgroup-version 2`);
  assert.equal(r.calls[1], `run ${r.dir}/memstrain-plan.json --out ${r.dir}/reports/job-1 --cgroup-mount ${r.host} --cgroup-version 2 --editor direct`);
  // memstrain resolves the pod UID and container id itself when it starts (and refuses a container
  // of another pod); the located cgroup is only the pre-flight check.
  assert.deepEqual(r.runPlan.target, {
    attach: { pod_uid: DEMO.metadata.uid, container_id: DEMO.status.containerStatuses[0].containerID },
    pprof_url: "http://10.244.2.7:6060/debug/pprof",
  });
  assert.ok(fs.existsSync(path.join(r.dir, "reports/job-1/plan.json")), "the plan as run is kept with the report");
});

test("in-job: keeps the plan's target.attach.cgroup_only", () => {
  const r = inJob({ planAttach: { cgroup: "/set-by-the-launcher", cgroup_only: true } });
  assert.deepEqual(r.runPlan.target.attach,
    { pod_uid: DEMO.metadata.uid, container_id: DEMO.status.containerStatuses[0].containerID, cgroup_only: true });
});

test("in-job: passes the journal directory the Job mounts to memstrain run", () => {
  const r = inJob({ env: { MEMSTRAIN_JOURNAL_DIR: "/run/memstrain/jobs" } });
  assert.match(r.calls[1], / --editor direct --journal-dir \/run\/memstrain\/jobs$/);
});

test("commands in plans are opt-in: the Job gets --allow-commands only when the launcher's user asks", () => {
  const kube = fakeCluster();
  const args = ["render", "--pod", DEMO.metadata.name, "-n", "staging", "--plan-configmap", "memstrain-plan"];
  const plain = spawnSync("bash", [launcher, ...args], { env: envFor(kube), encoding: "utf8" });
  assert.equal(plain.status, 0, plain.stderr);
  const envOf = (out) => yaml.load(out).spec.template.spec.containers[0].env.map((e) => e.name);
  assert.ok(!envOf(plain.stdout).includes("MEMSTRAIN_ALLOW_COMMANDS"));
  const allowed = spawnSync("bash", [launcher, ...args, "--allow-commands"], { env: envFor(kube), encoding: "utf8" });
  assert.equal(allowed.status, 0, allowed.stderr);
  assert.ok(envOf(allowed.stdout).includes("MEMSTRAIN_ALLOW_COMMANDS"));
  assert.doesNotMatch(inJob().calls[1], /--allow-commands/);
  assert.match(inJob({ allowCommands: true }).calls[1], / --allow-commands$/);
});

test("in-job (cgroup v1): uses the memory controller's mount", () => {
  const r = inJob({ version: 1, runExit: 0 });
  assert.equal(r.status, 0, r.out);
  assert.match(r.calls[0], new RegExp(`--cgroup-mount ${r.host}/memory --cgroup-version 1$`));
});

test("in-job: a container of another pod, or none found, is refused with exit 3 and a verdict line", () => {
  const other = inJob({ foundUid: "00000000-0000-0000-0000-000000000000" });
  assert.equal(other.status, 3, other.out);
  assert.match(other.out, /belongs to pod 00000000-0000-0000-0000-000000000000, not /);
  assert.equal(other.last, "memstrain: verdict=error status=target_not_found exit=3");
  assert.equal(other.calls.length, 1, "memstrain run never started");
  const none = inJob({ locateExit: 3 });
  assert.equal(none.status, 3, none.out);
  assert.equal(none.last, "memstrain: verdict=error status=target_not_found exit=3");
});
