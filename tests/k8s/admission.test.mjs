// The admission policies of k8s/base (memstrain-runner, memstrain-results), evaluated offline with
// a CEL evaluator (lib/vap.mjs) over the objects as the API server passes them: the Jobs that
// memstrain-launch.sh renders (and the pods the Job controller makes of them) are admitted on the
// overlay of their cgroup version; the same Jobs altered the ways an attacker holding the
// launcher's rights would alter them are refused; other pods in the namespace may have no host
// access; the launcher may write only result ConfigMaps.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import yaml from "js-yaml";
import { repoRoot } from "./lib/k8s-schemas.mjs";
import { kustomize } from "./lib/kustomize.mjs";
import { admissionRequest, evaluatePolicy } from "./lib/vap.mjs";

const launcher = path.join(repoRoot, "k8s/memstrain-launch.sh");
const fakeBin = path.join(repoRoot, "tests/k8s/fake-bin");
const DEMO = JSON.parse(fs.readFileSync(path.join(repoRoot, "tests/k8s/fixtures/pod-demo-target.json"), "utf8"));
const LAUNCHER_USER = "system:serviceaccount:memstrain:memstrain-launcher";
const JOB_CONTROLLER = "system:serviceaccount:kube-system:job-controller";

const overlay = (name) => kustomize(path.join(repoRoot, "k8s/overlays", name));
const find = (objs, kind, name) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `${kind} ${name} in the rendering`);
  return o;
};

/** The cluster as far as admission sees it: the overlay's objects, with settings edits. */
function cluster(overlayName, settingsEdit = {}) {
  const objs = overlay(overlayName);
  const settings = structuredClone(find(objs, "ConfigMap", "memstrain-settings"));
  Object.assign(settings.data, settingsEdit);
  const namespaces = new Map(objs.filter((o) => o.kind === "Namespace").map((o) => [o.metadata.name, o]));
  return {
    objs, settings, namespaces,
    policy: (name) => ({ policy: find(objs, "ValidatingAdmissionPolicy", name), binding: find(objs, "ValidatingAdmissionPolicyBinding", name) }),
    params: (ns, name) => (ns === settings.metadata.namespace && name === settings.metadata.name ? settings : null),
  };
}

// API server defaulting of the fields a policy could trip over (pod spec and containers).
function defaultPodSpec(spec) {
  spec.dnsPolicy ??= "ClusterFirst";
  spec.schedulerName ??= "default-scheduler";
  spec.securityContext ??= {};
  spec.restartPolicy ??= "Always";
  spec.terminationGracePeriodSeconds ??= 30;
  if (spec.serviceAccountName) spec.serviceAccount ??= spec.serviceAccountName;
  for (const c of spec.containers) {
    c.terminationMessagePath ??= "/dev/termination-log";
    c.terminationMessagePolicy ??= "File";
    c.imagePullPolicy ??= "IfNotPresent";
  }
  for (const v of spec.volumes ?? []) {
    if (v.configMap) v.configMap.defaultMode ??= 420;
  }
  return spec;
}

function defaultJob(job) {
  job.spec.completions ??= 1;
  job.spec.parallelism ??= 1;
  job.spec.completionMode ??= "NonIndexed";
  job.spec.suspend ??= false;
  defaultPodSpec(job.spec.template.spec);
  return job;
}

/** The pod the Job controller creates from `job`. */
function podOf(job) {
  const uid = "9e1c2d3f-0000-4000-8000-00000000abcd";
  return {
    apiVersion: "v1", kind: "Pod",
    metadata: {
      name: `${job.metadata.name}-x7k2p`, generateName: `${job.metadata.name}-`, namespace: job.metadata.namespace,
      labels: { ...job.spec.template.metadata.labels, "batch.kubernetes.io/controller-uid": uid,
                "batch.kubernetes.io/job-name": job.metadata.name, "controller-uid": uid, "job-name": job.metadata.name },
      ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: job.metadata.name, uid, controller: true, blockOwnerDeletion: true }],
      ...(job.spec.template.metadata.annotations ? { annotations: { ...job.spec.template.metadata.annotations } } : {}),
    },
    spec: defaultPodSpec(structuredClone(job.spec.template.spec)),
  };
}

/** Renders with the launcher (fake kubectl), reading memstrain-settings as in the cluster. */
function render(c, args) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "memstrain-vap-"));
  try {
    fs.writeFileSync(path.join(dir, "pod.json"), JSON.stringify(DEMO));
    fs.writeFileSync(path.join(dir, "configmap-memstrain-settings.json"), JSON.stringify(c.settings));
    const r = spawnSync("bash", [launcher, ...args], {
      env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}`, FAKE_KUBE_DIR: dir, MEMSTRAIN_JOB_SUFFIX: "vap",
             MEMSTRAIN_TOKEN_DIR: "/nonexistent-memstrain-token" },
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    return defaultJob(yaml.load(r.stdout));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
const RUN = ["render", "--pod", DEMO.metadata.name, "-n", "staging", "--plan-configmap", "memstrain-plan", "--plan-key", "beside.json",
             "--job-namespace", "memstrain"];
const RECOVER = ["render-recover", "--node", "kind-worker2", "--job-namespace", "memstrain"];

/** Admission of a Job (CREATE) by the launcher, and of the pod the Job controller makes of it. */
function admitJob(c, job, { username = LAUNCHER_USER } = {}) {
  const { policy, binding } = c.policy("memstrain-runner");
  const ns = c.namespaces.get(job.metadata.namespace) ?? { metadata: { name: job.metadata.namespace, labels: {} } };
  const one = (object, resource, user) => evaluatePolicy({
    policy, binding, object, namespaceObject: ns, paramsInNamespace: c.params,
    request: admissionRequest({ object, resource, username: user }),
  });
  return { job: one(job, "jobs", username), pod: one(podOf(job), "pods", JOB_CONTROLLER) };
}

const messages = (r) => r.failures.map((f) => f.message + (f.error ? ` (error: ${f.error})` : "")).join("\n");
function assertAdmitted(r) {
  assert.ok(r.job.applies, "the policy applies to the Job");
  assert.deepEqual(r.job.failures, [], "the Job is admitted");
  assert.deepEqual(r.pod.failures, [], "its pod is admitted");
}
function assertRefused(r, pattern) {
  assert.ok(r.job.applies, "the policy applies");
  assert.equal(r.job.allowed, false, "refused");
  assert.equal(r.pod.allowed, false, "its pod is refused too");
  assert.ok(r.job.failures.every((f) => f.error === null), `refused by a validation, not an evaluation error:\n${messages(r.job)}`);
  if (pattern) assert.match(messages(r.job), pattern);
}

const container = (job) => job.spec.template.spec.containers[0];
const setEnv = (job, name, value) => {
  const env = container(job).env;
  const e = env.find((x) => x.name === name);
  if (e) e.value = value;
  else env.push({ name, value });
};

// --- what the launcher renders is admitted -----------------------------------------------------

for (const v of ["1", "2"]) {
  test(`cgroup v${v} overlay: the run Job and the recover Jobs the launcher renders, and their pods, are admitted`, () => {
    const c = cluster(`cgroup-v${v}`);
    const job = render(c, RUN);
    assert.equal(container(job).securityContext.privileged, v === "2", "the launcher took the cgroup version from memstrain-settings");
    assert.equal(container(job).image, c.settings.data.image, "and the image");
    assertAdmitted(admitJob(c, job));
    assertAdmitted(admitJob(c, render(c, RECOVER)));
    assertAdmitted(admitJob(c, render(c, [...RECOVER, "--dry-run"])));
    assertAdmitted(admitJob(c, render(c, [...RUN, "--report-pvc", "memstrain-reports"])));
  });

  test(`cgroup v${v} overlay: a Job rendered for the other cgroup version is refused`, () => {
    const c = cluster(`cgroup-v${v}`);
    const other = v === "1" ? "2" : "1";
    assertRefused(admitJob(c, render(c, [...RUN, "--cgroup-version", other])), /securityContext must be exactly the one for cgroup v/);
  });
}

test("a pinned image in memstrain-settings is the one the launcher renders and the only one admitted", () => {
  const image = "registry.example/memstrain@sha256:" + "ab".repeat(32);
  const c = cluster("cgroup-v2", { image });
  const job = render(c, RUN);
  assert.equal(container(job).image, image);
  assertAdmitted(admitJob(c, job));
  const tag = structuredClone(job);
  container(tag).image = "registry.example/memstrain:0.1.0";
  assertRefused(admitJob(c, tag), /runner image must be registry\.example\/memstrain@sha256:/);
});

test("the textfile directory is admitted only where memstrain-settings names it", () => {
  const c = cluster("cgroup-v2", { textfileDir: "/var/lib/node_exporter/textfile_collector" });
  const job = render(c, RUN);
  const v = job.spec.template.spec.volumes.find((x) => x.name === "textfile");
  assert.deepEqual(v.hostPath, { path: "/var/lib/node_exporter/textfile_collector", type: "Directory" });
  assertAdmitted(admitJob(c, job));
  const plain = cluster("cgroup-v2");
  assertRefused(admitJob(plain, job), /hostPaths only at memstrain's node paths/);
  const other = render(c, [...RUN, "--textfile-dir", "/etc"]);
  assertRefused(admitJob(c, other), /hostPaths only at memstrain's node paths/);
});

test("plans' own commands are refused unless memstrain-settings allows them", () => {
  const job = render(cluster("cgroup-v2"), [...RUN, "--allow-commands"]);
  assertRefused(admitJob(cluster("cgroup-v2"), job), /MEMSTRAIN_ALLOW_COMMANDS/);
  assertAdmitted(admitJob(cluster("cgroup-v2", { allowCommands: "true" }), job));
});

// --- altered Jobs are refused ------------------------------------------------------------------

const ALTERATIONS = [
  ["another image", (j) => { container(j).image = "busybox:1.36"; }, /runner image must be/],
  ["a shell instead of the entry point", (j) => { container(j).command = ["sh", "-c", "id"]; }, /command must be/],
  ["args after the entry point", (j) => { container(j).args = ["--evil"]; }, /command must be|may set only/],
  ["a second container", (j) => { j.spec.template.spec.containers.push({ name: "x", image: "busybox:1.36" }); }, /exactly one container/],
  ["an init container", (j) => { j.spec.template.spec.initContainers = [{ name: "i", image: "busybox:1.36" }]; }, /exactly one container/],
  ["an extra hostPath (the node's root)", (j) => {
    j.spec.template.spec.volumes.push({ name: "root", hostPath: { path: "/", type: "Directory" } });
    container(j).volumeMounts.push({ name: "root", mountPath: "/host" });
  }, /hostPaths only at memstrain's node paths/],
  ["the cgroup hostPath mounted elsewhere", (j) => {
    container(j).volumeMounts.find((m) => m.name === "host-cgroup").mountPath = "/sys/fs/cgroup";
  }, /mounts each hostPath at its fixed path/],
  ["a subPath into a hostPath", (j) => { container(j).volumeMounts.find((m) => m.name === "journal").subPath = "../../"; }, /without subPath/],
  ["the journal hostPath pointed at /etc", (j) => { j.spec.template.spec.volumes.find((v) => v.name === "journal").hostPath.path = "/etc"; }, /hostPaths only/],
  ["hostNetwork", (j) => { j.spec.template.spec.hostNetwork = true; }, /host's pid namespace only/],
  ["hostIPC", (j) => { j.spec.template.spec.hostIPC = true; }, /host's pid namespace only/],
  ["a target namespace not in memstrain-settings", (j) => { setEnv(j, "MEMSTRAIN_TARGET_NAMESPACE", "kube-system"); }, /target namespace/],
  ["no target namespace", (j) => { container(j).env = container(j).env.filter((e) => e.name !== "MEMSTRAIN_TARGET_NAMESPACE"); }, /target namespace/],
  ["BASH_ENV (code run by the entry point's bash)", (j) => { setEnv(j, "BASH_ENV", "/etc/memstrain/plan/plan.json"); }, /only memstrain's own variables/],
  ["LD_PRELOAD", (j) => { setEnv(j, "LD_PRELOAD", "/tmp/x.so"); }, /only memstrain's own variables/],
  ["MEMSTRAIN_BIN (another binary)", (j) => { setEnv(j, "MEMSTRAIN_BIN", "/bin/sh"); }, /only memstrain's own variables/],
  ["the plan path moved", (j) => { setEnv(j, "MEMSTRAIN_PLAN", "/host/sys/fs/cgroup/x"); }, /fixed paths/],
  ["a report dir outside /reports", (j) => { setEnv(j, "MEMSTRAIN_REPORT_DIR", "/reports/../run/memstrain/jobs"); }, /fixed paths/],
  ["env from a Secret", (j) => { container(j).env.push({ name: "MEMSTRAIN_POD_IP", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }); }, /plain values/],
  ["a liveness probe (a command run in the container)", (j) => { container(j).livenessProbe = { exec: { command: ["sh", "-c", "id"] } }; }, /may set only/],
  ["a postStart hook", (j) => { container(j).lifecycle = { postStart: { exec: { command: ["id"] } } }; }, /may set only/],
  ["the API token mounted", (j) => { j.spec.template.spec.automountServiceAccountToken = true; }, /automountServiceAccountToken: false/],
  ["another service account", (j) => { j.spec.template.spec.serviceAccountName = "default"; }, /service account memstrain-runner/],
  ["a runtime class", (j) => { j.spec.template.spec.runtimeClassName = "unconfined"; }, /runtimeClassName/],
  ["a pod-level sysctl", (j) => { j.spec.template.spec.securityContext = { sysctls: [{ name: "kernel.shm_rmid_forced", value: "0" }] }; }, /pod-level securityContext/],
  ["an AppArmor annotation", (j) => {
    j.spec.template.metadata.annotations = { "container.apparmor.security.beta.kubernetes.io/memstrain": "unconfined" };
  }, /AppArmor/],
  ["the plan read from a result ConfigMap", (j) => { j.spec.template.spec.volumes.find((v) => v.name === "plan").configMap.name = "memstrain-result-x"; }, /not a memstrain-result/],
  ["an NFS volume", (j) => { j.spec.template.spec.volumes.push({ name: "n", nfs: { server: "x", path: "/" } }); }, /volumes/],
  ["without the runner's labels", (j) => { j.spec.template.metadata.labels["app.kubernetes.io/component"] = "other"; }, /labelled app\.kubernetes\.io\/component/],
];

const V2_ALTERATIONS = [
  ["v2: a capability added to the privileged container", (j) => { container(j).securityContext.capabilities = { add: ["SYS_ADMIN"] }; }],
  ["v2: runAsUser changed", (j) => { container(j).securityContext.runAsUser = 1000; }],
  ["v2: a writable root filesystem", (j) => { container(j).securityContext.readOnlyRootFilesystem = false; }],
];
const V1_ALTERATIONS = [
  ["v1: privileged", (j) => { container(j).securityContext.privileged = true; }],
  ["v1: SYS_ADMIN added", (j) => { container(j).securityContext.capabilities.add.push("SYS_ADMIN"); }],
  ["v1: capabilities not dropped", (j) => { container(j).securityContext.capabilities.drop = ["NET_RAW"]; }],
  ["v1: privilege escalation allowed", (j) => { container(j).securityContext.allowPrivilegeEscalation = true; }],
  ["v1: seccomp Unconfined", (j) => { container(j).securityContext.seccompProfile = { type: "Unconfined" }; }],
  ["v1: procMount Unmasked", (j) => { container(j).securityContext.procMount = "Unmasked"; }],
];

for (const [v, extra] of [["2", V2_ALTERATIONS], ["1", V1_ALTERATIONS]]) {
  test(`cgroup v${v} overlay: every alteration of the launcher's Job is refused, the Job and its pod`, () => {
    const c = cluster(`cgroup-v${v}`);
    const good = render(c, RUN);
    for (const [what, alter, pattern] of [...ALTERATIONS, ...extra.map(([w, a]) => [w, a, /securityContext must be exactly/])]) {
      const job = structuredClone(good);
      alter(job);
      try {
        assertRefused(admitJob(c, job), pattern);
      } catch (e) {
        e.message = `${what}: ${e.message}`;
        throw e;
      }
    }
  });
}

test("an ephemeral container added to a runner pod is refused; an unprivileged one to another pod is not", () => {
  const c = cluster("cgroup-v2");
  const { policy, binding } = c.policy("memstrain-runner");
  const pod = podOf(render(c, RUN));
  const withDebug = structuredClone(pod);
  withDebug.spec.ephemeralContainers = [{ name: "debug", image: "busybox:1.36", targetContainerName: "memstrain" }];
  const r = evaluatePolicy({
    policy, binding, object: withDebug, oldObject: pod, namespaceObject: c.namespaces.get("memstrain"), paramsInNamespace: c.params,
    request: admissionRequest({ operation: "UPDATE", object: withDebug, resource: "pods", subResource: "ephemeralcontainers", username: "someone" }),
  });
  assert.ok(r.applies);
  assert.equal(r.allowed, false);
  assert.match(messages(r), /exactly one container/);
});

// --- the rest of the namespace, other namespaces, missing params --------------------------------

test("other pods in memstrain's namespace may have no host access; unprivileged ones (a Chaos Mesh Task) pass", () => {
  const c = cluster("cgroup-v2-workflow");
  const { policy, binding } = c.policy("memstrain-runner");
  const wf = find(c.objs, "Workflow", "memstrain-demo-target");
  const task = wf.spec.templates.find((t) => t.name === "memory-pressure").task;
  const taskPod = {
    apiVersion: "v1", kind: "Pod", metadata: { name: "memstrain-demo-target-memory-pressure-abc", namespace: "memstrain", labels: {} },
    spec: defaultPodSpec({ serviceAccountName: "default", containers: [structuredClone(task.container)], volumes: structuredClone(task.volumes) }),
  };
  const admit = (object) => evaluatePolicy({
    policy, binding, object, namespaceObject: c.namespaces.get("memstrain"), paramsInNamespace: c.params,
    request: admissionRequest({ object, resource: "pods", username: "system:serviceaccount:chaos-mesh:chaos-controller-manager" }),
  });
  const ok = admit(taskPod);
  assert.ok(ok.applies);
  assert.deepEqual(ok.failures, [], "the Task's pod is admitted");
  for (const [what, alter] of [
    ["hostPID", (p) => { p.spec.hostPID = true; }],
    ["privileged", (p) => { p.spec.containers[0].securityContext = { privileged: true }; }],
    ["a hostPath", (p) => { p.spec.volumes.push({ name: "h", hostPath: { path: "/var/run/containerd" } }); }],
    ["an added capability", (p) => { p.spec.containers[0].securityContext.capabilities.add = ["NET_ADMIN"]; }],
    ["a host port", (p) => { p.spec.containers[0].ports = [{ containerPort: 80, hostPort: 80 }]; }],
  ]) {
    const p = structuredClone(taskPod);
    alter(p);
    assert.equal(admit(p).allowed, false, `a pod with ${what} is refused`);
  }
});

test("the policy binds to memstrain's namespace only, and denies where memstrain-settings is missing", () => {
  const c = cluster("cgroup-v2");
  const job = render(c, RUN);
  // A namespace without the label: the binding does not match (RBAC keeps the launcher out of it).
  const elsewhere = structuredClone(job);
  elsewhere.metadata.namespace = "shop";
  const { policy, binding } = c.policy("memstrain-runner");
  const shopNs = { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop", labels: { "kubernetes.io/metadata.name": "shop" } } };
  const r = evaluatePolicy({ policy, binding, object: elsewhere, namespaceObject: shopNs, paramsInNamespace: c.params,
    request: admissionRequest({ object: elsewhere, resource: "jobs", username: LAUNCHER_USER }) });
  assert.equal(r.applies, false);
  // A labelled namespace without the settings ConfigMap: parameterNotFoundAction Deny.
  const labelled = { ...shopNs, metadata: { ...shopNs.metadata, labels: { "memstrain.dev/runner-namespace": "true" } } };
  const denied = evaluatePolicy({ policy, binding, object: elsewhere, namespaceObject: labelled, paramsInNamespace: c.params,
    request: admissionRequest({ object: elsewhere, resource: "jobs", username: LAUNCHER_USER }) });
  assert.ok(denied.applies);
  assert.equal(denied.allowed, false);
  assert.match(messages(denied), /no params memstrain-settings in shop/);
});

// --- results ---------------------------------------------------------------------------------

test("memstrain-results: the launcher's accounts may write only memstrain-result-* ConfigMaps; others are not concerned", () => {
  const c = cluster("cgroup-v2-workflow");
  const { policy, binding } = c.policy("memstrain-results");
  const ns = c.namespaces.get("memstrain");
  const cm = (name) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "memstrain" }, data: { x: "y" } });
  const admit = (operation, name, username) => {
    const obj = cm(name);
    return evaluatePolicy({ policy, binding, namespaceObject: ns, object: operation === "DELETE" ? null : obj,
      oldObject: operation === "CREATE" ? null : obj, request: admissionRequest({ operation, object: operation === "DELETE" ? null : obj,
        oldObject: obj, resource: "configmaps", username }) });
  };
  for (const user of [LAUNCHER_USER, "system:serviceaccount:memstrain:default"]) {
    assert.deepEqual(admit("CREATE", "memstrain-result-demo-target", user).failures, []);
    assert.deepEqual(admit("DELETE", "memstrain-result-demo-target", user).failures, []);
    assert.equal(admit("CREATE", "memstrain-plan-evil", user).allowed, false, "no plan of its own");
    assert.equal(admit("DELETE", "memstrain-settings", user).allowed, false, "the settings stay");
    assert.equal(admit("CREATE", "memstrain-settings", user).allowed, false);
  }
  const admin = admit("CREATE", "memstrain-plan", "kubernetes-admin");
  assert.equal(admin.applies, false, "people who manage memstrain are not concerned");
});
