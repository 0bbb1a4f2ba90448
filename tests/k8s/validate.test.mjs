// Every manifest in k8s/ parses, validates against its schema (Kubernetes OpenAPI or Chaos Mesh
// CRD, unknown fields refused), and says what memstrain needs it to say; the Dockerfile is linted
// (it cannot be built here: no container engine).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import yaml from "js-yaml";
import { crdDir, loadYamlFile, repoRoot, validateObject } from "./lib/k8s-schemas.mjs";
import { kustomize, objectKey } from "./lib/kustomize.mjs";

const k8sDir = path.join(repoRoot, "k8s");
const OVERLAYS = ["cgroup-v1", "cgroup-v2", "cgroup-v1-workflow", "cgroup-v2-workflow"];
// Every kustomization the manifests come as: the overlays, and the per-namespace target access.
const KUSTOMIZATIONS = [...OVERLAYS.map((o) => `overlays/${o}`), "target-access"];
// The standalone examples beside them (applied by hand, not part of the base).
const STANDALONE = ["job.yaml", "demo-target.yaml"];

const rendered = new Map();
for (const k of KUSTOMIZATIONS) {
  try {
    rendered.set(k, kustomize(path.join(k8sDir, k)));
  } catch {
    rendered.set(k, null);
  }
}
const standalone = new Map();
for (const f of STANDALONE) {
  try {
    standalone.set(f, loadYamlFile(path.join(k8sDir, f)));
  } catch {
    standalone.set(f, null);
  }
}
const full = () => [...(rendered.get("overlays/cgroup-v2-workflow") ?? []), ...(rendered.get("target-access") ?? []),
                    ...[...standalone.values()].filter(Boolean).flat()];
const one = (kind, name, objs = full()) => {
  const found = objs.filter((d) => d.kind === kind && d.metadata?.name === name);
  assert.equal(found.length, 1, `exactly one ${kind} ${name}`);
  return found[0];
};

test("k8s/ has the kustomizations and examples the README walks through", () => {
  for (const f of [...KUSTOMIZATIONS, "base"].map((k) => `${k}/kustomization.yaml`).concat(STANDALONE)) {
    assert.ok(fs.existsSync(path.join(k8sDir, f)), `k8s/${f} is missing`);
  }
  assert.ok(fs.existsSync(crdDir), `Chaos Mesh CRDs not found at ${crdDir}`);
});

for (const k of KUSTOMIZATIONS) {
  test(`k8s/${k} renders (kustomize features of tests/k8s/lib/kustomize.mjs)`, () => {
    assert.ok(kustomize(path.join(k8sDir, k)).length > 0);
  });
  for (const doc of rendered.get(k) ?? []) {
    test(`k8s/${k}: ${doc.kind} ${doc.metadata?.name} validates against its schema`, async () => {
      assert.deepEqual(await validateObject(doc), []);
    });
  }
}
for (const f of STANDALONE) {
  test(`${f} parses as YAML`, () => {
    assert.ok(loadYamlFile(path.join(k8sDir, f)).length > 0, "no documents");
  });
  for (const [i, doc] of (standalone.get(f) ?? []).entries()) {
    test(`${f} #${i} ${doc.kind} ${doc.metadata?.name} validates against its schema`, async () => {
      assert.deepEqual(await validateObject(doc), []);
    });
  }
}

// `kubectl kustomize` where it is (kubectl 1.21+ embeds kustomize v4+; Debian's 1.20 does not): the
// renderer used above must print the same objects.
test("the overlays render the same with kubectl kustomize (where a kubectl with kustomize v4+ is installed)", (t) => {
  const v = spawnSync("kubectl", ["version", "--client", "-o", "json"], { encoding: "utf8" });
  const kv = v.status === 0 ? JSON.parse(v.stdout).kustomizeVersion ?? "" : "";
  if (!/^v([4-9]|\d\d)\./.test(kv)) {
    t.skip(`no kubectl with kustomize v4+ here (${kv || "no kubectl"}): the overlays were rendered by tests/k8s/lib/kustomize.mjs alone`);
    return;
  }
  for (const k of KUSTOMIZATIONS) {
    const r = spawnSync("kubectl", ["kustomize", path.join(k8sDir, k)], { encoding: "utf8" });
    assert.equal(r.status, 0, `kubectl kustomize k8s/${k}: ${r.stderr}`);
    const theirs = yaml.loadAll(r.stdout).filter(Boolean);
    const ours = rendered.get(k);
    const byKey = (objs) => Object.fromEntries(objs.map((o) => [objectKey(o), o]));
    assert.deepEqual(byKey(ours), byKey(theirs), `k8s/${k}: lib/kustomize.mjs and kustomize ${kv} agree`);
  }
  t.diagnostic(`compared with kustomize ${kv}`);
});

test("every object carries the recommended labels; nothing names a namespace but the kustomizations", () => {
  for (const k of KUSTOMIZATIONS) {
    for (const d of rendered.get(k)) {
      const l = d.metadata.labels ?? {};
      for (const key of ["app.kubernetes.io/name", "app.kubernetes.io/part-of", "app.kubernetes.io/version",
                         "app.kubernetes.io/managed-by", "app.kubernetes.io/component"]) {
        assert.ok(l[key], `k8s/${k}: ${d.kind} ${d.metadata.name} has ${key}`);
      }
    }
  }
  for (const dir of ["base", "workflow", "target-access", "overlays"]) {
    const files = fs.readdirSync(path.join(k8sDir, dir), { recursive: true }).filter((f) => f.endsWith(".yaml") && !f.endsWith("kustomization.yaml"));
    for (const f of files) {
      for (const d of loadYamlFile(path.join(k8sDir, dir, f))) {
        assert.equal(d.metadata?.namespace, undefined, `k8s/${dir}/${f}: ${d.kind} ${d.metadata?.name} names no namespace`);
      }
    }
  }
  const ns = rendered.get("overlays/cgroup-v2").filter((d) => d.kind === "Namespace");
  assert.equal(ns.length, 1);
  for (const d of rendered.get("overlays/cgroup-v2")) {
    if (d.kind === "Namespace" || d.kind.startsWith("ValidatingAdmissionPolicy")) {
      assert.equal(d.metadata.namespace, undefined, `${d.kind} ${d.metadata.name} is cluster-scoped: no namespace`);
    } else {
      assert.equal(d.metadata.namespace, ns[0].metadata.name, `${d.kind} ${d.metadata.name} is in memstrain's namespace`);
    }
  }
});

test("the overlays differ in the cgroup version they admit and in the workflow alone", () => {
  const settings = (k) => one("ConfigMap", "memstrain-settings", rendered.get(k)).data.cgroupVersion;
  assert.equal(settings("overlays/cgroup-v1"), "1");
  assert.equal(settings("overlays/cgroup-v2"), "2");
  assert.equal(settings("overlays/cgroup-v1-workflow"), "1");
  assert.equal(settings("overlays/cgroup-v2-workflow"), "2");
  for (const v of ["1", "2"]) {
    const plain = rendered.get(`overlays/cgroup-v${v}`).map(objectKey);
    const wf = rendered.get(`overlays/cgroup-v${v}-workflow`).map(objectKey);
    assert.ok(plain.every((key) => wf.includes(key)));
    assert.deepEqual(wf.filter((key) => !plain.includes(key)).sort(), [
      "RoleBinding/memstrain/memstrain-launcher-chaos-mesh-tasks", "StatusCheck/memstrain/demo-target-healthy",
      "Workflow/memstrain/memstrain-demo-target", "Workflow/memstrain/memstrain-two-targets"]);
    assert.ok(!plain.some((key) => key.startsWith("Workflow/")), "workflow off: no Workflow (no Chaos Mesh needed)");
  }
});

test("RBAC is namespace-scoped, grants only what the launcher uses, and no token lives in a Secret", () => {
  const all = full();
  for (const d of all) {
    assert.ok(!/^Cluster/.test(d.kind), `${d.kind} ${d.metadata?.name}: nothing cluster-wide`);
    assert.ok(!(d.kind === "Secret"), `${d.metadata?.name}: no Secret (tokens are short-lived, projected or requested)`);
  }
  const launcher = one("Role", "memstrain-launcher");
  const rules = launcher.rules.map((r) => `${r.apiGroups.join(",")}|${r.resources.join(",")}|${[...r.verbs].sort().join(",")}`);
  assert.deepEqual(rules.sort(), [
    "batch|jobs|create,delete,get,list,watch",
    "|configmaps|create,delete,get",
    "|pods/log|get",
    "|pods|get,list,watch",
  ].sort());
  const reader = one("Role", "memstrain-target-reader");
  assert.deepEqual(reader.rules, [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] }]);
  assert.equal(reader.metadata.namespace, "staging", "target access is granted in the target's namespace");
  for (const d of all.filter((x) => x.kind === "Role")) {
    for (const r of d.rules) assert.ok(![...r.verbs, ...r.resources, ...r.apiGroups].includes("*"), `${d.metadata.name}: no wildcards`);
  }
  for (const b of all.filter((x) => x.kind === "RoleBinding")) {
    assert.equal(b.roleRef.kind, "Role");
    const role = one("Role", b.roleRef.name);
    assert.equal(role.metadata.namespace, b.metadata.namespace, `${b.metadata.name} binds a Role of its own namespace`);
  }
  assert.deepEqual(one("RoleBinding", "memstrain-launcher").subjects, [{ kind: "ServiceAccount", name: "memstrain-launcher", namespace: "memstrain" }]);
  assert.deepEqual(one("RoleBinding", "memstrain-launcher-chaos-mesh-tasks").subjects, [{ kind: "ServiceAccount", name: "default", namespace: "memstrain" }]);
  assert.deepEqual(one("RoleBinding", "memstrain-target-reader").subjects,
    [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:serviceaccounts:memstrain" }]);
  const runner = one("ServiceAccount", "memstrain-runner");
  assert.equal(runner.automountServiceAccountToken, false);
  assert.ok(!all.some((d) => d.kind === "RoleBinding" && d.subjects.some((s) => s.name === "memstrain-runner")),
            "the Job's service account has no rights");
});

test("the admission policies are bound to memstrain's namespace, fail closed, and take memstrain-settings as params", () => {
  const objs = rendered.get("overlays/cgroup-v2");
  const ns = one("Namespace", "memstrain", objs);
  for (const name of ["memstrain-runner", "memstrain-results"]) {
    const p = one("ValidatingAdmissionPolicy", name, objs);
    const b = one("ValidatingAdmissionPolicyBinding", name, objs);
    assert.equal(p.spec.failurePolicy, "Fail");
    assert.equal(b.spec.policyName, name);
    assert.deepEqual(b.spec.validationActions, ["Deny"]);
    for (const [k, v] of Object.entries(b.spec.matchResources.namespaceSelector.matchLabels)) assert.equal(ns.metadata.labels[k], v);
  }
  const b = one("ValidatingAdmissionPolicyBinding", "memstrain-runner", objs);
  assert.deepEqual(b.spec.paramRef, { name: "memstrain-settings", parameterNotFoundAction: "Deny" });
  const s = one("ConfigMap", "memstrain-settings", objs);
  assert.deepEqual(Object.keys(s.data).sort(), ["allowCommands", "cgroupVersion", "image", "targetNamespaces", "textfileDir"]);
  assert.equal(s.data.allowCommands, "false");
});

test("the Job runs on the target's node through the scheduler with the host's cgroups, least privilege and bounded resources", () => {
  const job = one("Job", "memstrain-example");
  const spec = job.spec.template.spec;
  const c = spec.containers[0];
  assert.equal(spec.nodeName, undefined, "no nodeName: the scheduler places the Job");
  assert.deepEqual(spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms,
    [{ matchFields: [{ key: "metadata.name", operator: "In", values: ["REPLACE-node-name"] }] }]);
  assert.equal(spec.hostPID, true);
  assert.equal(spec.restartPolicy, "Never");
  assert.equal(job.spec.backoffLimit, 0);
  assert.ok(job.spec.ttlSecondsAfterFinished > 0, "ttlSecondsAfterFinished");
  assert.ok(job.spec.activeDeadlineSeconds > 0, "activeDeadlineSeconds");
  assert.equal(spec.serviceAccountName, "memstrain-runner");
  assert.equal(spec.automountServiceAccountToken, false);
  const cg = spec.volumes.find((v) => v.hostPath?.path === "/sys/fs/cgroup");
  assert.ok(cg, "hostPath /sys/fs/cgroup");
  const mount = c.volumeMounts.find((m) => m.name === cg.name);
  assert.ok(mount && !mount.readOnly, "host cgroups mounted read-write");
  assert.ok(spec.volumes.some((v) => v.name === "reports" && (v.hostPath || v.persistentVolumeClaim)), "reports on a volume");
  assert.ok(c.env.some((e) => e.name === "MEMSTRAIN_REPORT_DIR" && e.value.startsWith("/reports/")));
  assert.deepEqual(c.command, ["memstrain-launch.sh", "in-job"]);
  const cpuMilli = (q) => (q.endsWith("m") ? Number(q.slice(0, -1)) : Number(q) * 1000);
  const mib = (q) => Number(q.replace(/Mi$/, ""));
  assert.ok(cpuMilli(c.resources.requests.cpu) <= 100 && mib(c.resources.requests.memory) <= 128, "small requests");
  assert.ok(c.resources.limits.cpu && c.resources.limits.memory, "limits set");
  assert.equal(c.securityContext.runAsUser, 0, "cgroup files belong to root");
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  for (const key of ["name", "instance", "version", "component", "part-of", "managed-by"]) {
    assert.ok(job.metadata.labels[`app.kubernetes.io/${key}`], `Job label app.kubernetes.io/${key}`);
    assert.ok(job.spec.template.metadata.labels[`app.kubernetes.io/${key}`], `pod label app.kubernetes.io/${key}`);
  }
});

test("the Workflow checks health, runs the launcher as a Task with a projected token, branches on exitCode and stdout, and reads the result", () => {
  const known = new Set(["Serial", "Parallel", "Task", "Suspend", "Schedule", "StatusCheck", "StressChaos", "PodChaos",
                         "NetworkChaos", "IOChaos", "HTTPChaos", "TimeChaos", "KernelChaos", "DNSChaos", "JVMChaos"]);
  for (const wf of full().filter((d) => d.kind === "Workflow")) {
    const name = wf.metadata.name;
    const byName = new Map(wf.spec.templates.map((t) => [t.name, t]));
    assert.equal(byName.size, wf.spec.templates.length, `${name}: template names are unique`);
    assert.ok(byName.has(wf.spec.entry), `${name}: entry exists`);
    for (const t of wf.spec.templates) {
      assert.ok(known.has(t.templateType), `${name}/${t.name}: templateType ${t.templateType}`);
      for (const child of t.children ?? []) assert.ok(byName.has(child), `${name}/${t.name}: child ${child} exists`);
      for (const b of t.conditionalBranches ?? []) {
        assert.ok(byName.has(b.target), `${name}/${t.name}: branch target ${b.target} exists`);
        assert.match(b.expression, /\b(exitCode|stdout)\b/, `${name}/${t.name}: branch on exitCode/stdout`);
      }
      if (t.conditionalBranches) assert.equal(t.templateType, "Task", "only Tasks branch");
      if (t.templateType === "Task" && t.conditionalBranches) {
        const cmd = t.task.container.command;
        assert.deepEqual(cmd.slice(0, 2), ["memstrain-launch.sh", "run"], `${name}/${t.name} runs the launcher`);
        assert.ok(cmd.includes("--plan-configmap"));
        assert.match(cmd[cmd.indexOf("--result-configmap") + 1], /^memstrain-result-/, `${name}/${t.name} names its result ConfigMap`);
        assert.ok(!cmd.includes("--cgroup-version"), "the cgroup version comes from memstrain-settings");
      }
      if (t.templateType === "Task") {
        const mount = t.task.container.volumeMounts?.find((m) => m.mountPath === "/var/run/secrets/memstrain-launcher");
        assert.ok(mount, `${name}/${t.name} mounts the launcher token`);
        const sources = t.task.volumes.find((v) => v.name === mount.name).projected.sources;
        const token = sources.find((s) => s.serviceAccountToken).serviceAccountToken;
        assert.ok(token.expirationSeconds <= 3600, `${name}/${t.name}: a short-lived token`);
        assert.equal(t.task.container.securityContext.runAsNonRoot, true);
        assert.deepEqual(t.task.container.securityContext.capabilities, { drop: ["ALL"] });
      }
    }
    const entry = byName.get(wf.spec.entry);
    assert.equal(entry.templateType, "Serial");
    assert.equal(byName.get(entry.children[0]).templateType, "StatusCheck", `${name}: health first`);
    assert.equal(byName.get(entry.children[0]).abortWithStatusCheck, true);
  }
  const serial = one("Workflow", "memstrain-demo-target");
  const exprs = serial.spec.templates.flatMap((t) => t.conditionalBranches ?? []).map((b) => b.expression);
  assert.ok(exprs.some((e) => e.includes("stdout")) && exprs.some((e) => e.includes("exitCode")));
  for (const n of ["verdict-pass", "verdict-fail", "verdict-other"]) {
    const cmd = serial.spec.templates.find((t) => t.name === n).task.container.command.join(" ");
    assert.match(cmd, /memstrain-launch\.sh result memstrain-result-demo-target/, `${n} reads the run's result`);
  }
  const parallel = one("Workflow", "memstrain-two-targets");
  assert.ok(parallel.spec.templates.some((t) => t.templateType === "Parallel" && t.children.length === 2));
});

test("the demo target is a Deployment and Service the Workflow's selector and health check find", () => {
  const dep = one("Deployment", "demo-target");
  const svc = one("Service", "demo-target");
  const labels = dep.spec.template.metadata.labels;
  assert.deepEqual(dep.spec.selector.matchLabels, { app: "demo-target" });
  assert.equal(labels.app, "demo-target");
  assert.deepEqual(svc.spec.selector, { app: "demo-target" });
  assert.equal(svc.metadata.namespace, dep.metadata.namespace);
  const c = dep.spec.template.spec.containers[0];
  assert.ok(c.resources.limits.memory, "a memory limit, so the container and pod cgroups have one");
  const wf = one("Workflow", "memstrain-demo-target");
  const check = wf.spec.templates.find((t) => t.templateType === "StatusCheck");
  assert.equal(check.statusCheck.http.url, `http://${svc.metadata.name}.${svc.metadata.namespace}.svc.cluster.local:6060/healthz`);
  const task = wf.spec.templates.find((t) => t.name === "memory-pressure").task.container.command;
  assert.equal(task[task.indexOf("--selector") + 1], "app=demo-target");
  assert.equal(task[task.indexOf("--namespace") + 1], dep.metadata.namespace);
  assert.equal(one("Role", "memstrain-target-reader").metadata.namespace, dep.metadata.namespace, "launcher may read the target's pods");
  const settings = one("ConfigMap", "memstrain-settings");
  assert.ok(settings.data.targetNamespaces.split(",").includes(dep.metadata.namespace), "the admission policy allows it as a target");
});

test("the plans in the ConfigMap are memstrain attach plans", (t) => {
  const cm = one("ConfigMap", "memstrain-plan");
  const bin = process.env.MEMSTRAIN_BINARY;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "memstrain-k8s-plan-"));
  try {
    for (const [key, text] of Object.entries(cm.data)) {
      const plan = JSON.parse(text);
      assert.equal(typeof plan.target.attach.cgroup, "string", `${key}: target.attach.cgroup`);
      assert.equal(plan.target.launch, undefined, `${key}: no launch block`);
      if (bin && fs.existsSync(bin)) {
        const file = path.join(tmp, key);
        fs.writeFileSync(file, text.replaceAll("{{POD_IP}}", "10.0.0.7"));
        const r = spawnSync(bin, ["validate", file], { encoding: "utf8" });
        assert.equal(r.status, 0, `memstrain validate ${key}: ${r.stdout}${r.stderr}`);
      }
    }
    if (!bin || !fs.existsSync(bin)) t.diagnostic("MEMSTRAIN_BINARY not set or missing: plans checked for shape only");
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

// --- Dockerfile lint ----------------------------------------------------------------------------

function dockerInstructions(text) {
  // Joins continuation lines, drops comments; returns [{op, args, line}].
  const out = [];
  let buf = "", start = 0;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trimEnd();
    if (!buf && (line.trim() === "" || line.trim().startsWith("#"))) return;
    if (!buf) start = i + 1;
    if (line.endsWith("\\")) {
      buf += line.slice(0, -1) + " ";
      return;
    }
    buf += line;
    const m = buf.trim().match(/^(\S+)\s*(.*)$/);
    out.push({ op: m[1].toUpperCase(), args: m[2], line: start });
    buf = "";
  });
  return out;
}

const dockerfile = fs.readFileSync(path.join(k8sDir, "Dockerfile"), "utf8");
const instr = dockerInstructions(dockerfile);

test("Dockerfile: multi-stage, every stage on debian:bookworm", () => {
  const froms = instr.filter((i) => i.op === "FROM");
  assert.ok(froms.length >= 2, "multi-stage");
  const stages = new Set();
  for (const f of froms) {
    const m = f.args.match(/^(\S+)(?:\s+AS\s+(\S+))?$/i);
    assert.ok(m, `line ${f.line}: FROM IMAGE [AS NAME]`);
    assert.equal(m[1], "debian:bookworm", `line ${f.line}: base image`);
    if (m[2]) stages.add(m[2]);
  }
  for (const c of instr.filter((i) => i.op === "COPY" && i.args.includes("--from="))) {
    const from = c.args.match(/--from=(\S+)/)[1];
    assert.ok(stages.has(from), `line ${c.line}: COPY --from=${from} names an earlier stage`);
  }
});

test("Dockerfile: software only from Debian packages, nothing downloaded otherwise", () => {
  assert.ok(!instr.some((i) => i.op === "ADD"), "no ADD (it can fetch URLs)");
  for (const r of instr.filter((i) => i.op === "RUN")) {
    assert.doesNotMatch(r.args, /\b(curl|wget|pip3?|npm|gem|cargo|go\s+install|go\s+get|git\s+clone)\b/, `line ${r.line}: ${r.args}`);
    if (/apt-get install/.test(r.args)) {
      assert.match(r.args, /apt-get update/, `line ${r.line}: update in the same layer`);
      assert.match(r.args, /--no-install-recommends/, `line ${r.line}`);
      assert.match(r.args, /rm -rf \/var\/lib\/apt\/lists/, `line ${r.line}: lists removed`);
    }
    if (/\bgo build\b/.test(r.args)) assert.match(r.args, /GOPROXY=off/, `line ${r.line}: no module downloads`);
  }
});

test("Dockerfile: the final image runs as a non-root USER and ships memstrain and the launcher", () => {
  const lastFrom = instr.map((i) => i.op).lastIndexOf("FROM");
  const final = instr.slice(lastFrom);
  const user = final.filter((i) => i.op === "USER").pop();
  assert.ok(user, "USER in the final stage");
  assert.doesNotMatch(user.args, /^(root|0)(:|$)/, "not root");
  const copies = final.filter((i) => i.op === "COPY").map((i) => i.args).join("\n");
  assert.match(copies, /\/usr\/local\/bin\/memstrain\b/);
  assert.match(copies, /k8s\/memstrain-launch\.sh \/usr\/local\/bin\/memstrain-launch\.sh/);
  const pkgs = final.filter((i) => i.op === "RUN").map((i) => i.args).join(" ");
  for (const p of ["jq", "kubernetes-client", "ca-certificates"]) assert.match(pkgs, new RegExp(`\\b${p}\\b`), `${p} installed`);
});

test("Dockerfile: every apt package exists in this machine's Debian package lists", (t) => {
  const known = spawnSync("apt-cache", ["show", "--no-all-versions", "bash"], { encoding: "utf8" });
  if (known.status !== 0) {
    t.skip("apt-cache has no package lists here");
    return;
  }
  const pkgs = new Set();
  for (const r of instr.filter((i) => i.op === "RUN" && /apt-get install/.test(i.args))) {
    const after = r.args.split(/apt-get install/)[1].split("&&")[0];
    for (const w of after.split(/\s+/)) if (w && !w.startsWith("-")) pkgs.add(w);
  }
  assert.ok(pkgs.size > 10, `found ${pkgs.size} packages`);
  // One apt-cache call: "NAME:" then "  Candidate: VERSION" for each package it knows.
  const policy = spawnSync("apt-cache", ["policy", ...pkgs], { encoding: "utf8" }).stdout;
  const available = new Set();
  let current = null;
  for (const line of policy.split("\n")) {
    const head = line.match(/^(\S+):$/);
    if (head) current = head[1];
    const cand = line.match(/^\s+Candidate:\s+(\S+)/);
    if (cand && current && cand[1] !== "(none)") available.add(current);
  }
  const missing = [...pkgs].filter((p) => !available.has(p));
  assert.deepEqual(missing, [], "unknown to apt-cache");
});

test("the Job's launcher script passes shellcheck", (t) => {
  const which = spawnSync("sh", ["-c", "command -v shellcheck"], { encoding: "utf8" });
  if (which.status !== 0) {
    t.skip("shellcheck is not installed");
    return;
  }
  execFileSync("shellcheck", [path.join(k8sDir, "memstrain-launch.sh")], { encoding: "utf8" });
});
