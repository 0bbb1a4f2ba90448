// Every manifest in k8s/ parses, validates against its schema (Kubernetes OpenAPI or Chaos Mesh
// CRD, unknown fields refused), and says what memstrain needs it to say; the Dockerfile is linted
// (it cannot be built here: no container engine).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { crdDir, loadYamlFile, repoRoot, validateObject } from "./lib/k8s-schemas.mjs";

const k8sDir = path.join(repoRoot, "k8s");
const yamlFiles = fs.readdirSync(k8sDir).filter((f) => /\.ya?ml$/.test(f)).sort();

// file -> documents; a file that does not parse is reported by its own test and left out here.
const docs = new Map();
for (const f of yamlFiles) {
  try {
    docs.set(f, loadYamlFile(path.join(k8sDir, f)));
  } catch {
    docs.set(f, null);
  }
}
const all = () => [...docs.values()].filter(Boolean).flat();
const one = (kind, name) => {
  const found = all().filter((d) => d.kind === kind && d.metadata?.name === name);
  assert.equal(found.length, 1, `exactly one ${kind} ${name} in k8s/`);
  return found[0];
};

test("k8s/ has the manifests the README walks through", () => {
  for (const f of ["namespace.yaml", "rbac.yaml", "plan-configmap.yaml", "job.yaml", "demo-target.yaml",
                   "statuscheck.yaml", "workflow.yaml", "workflow-parallel.yaml"]) {
    assert.ok(yamlFiles.includes(f), `k8s/${f} is missing`);
  }
  assert.ok(fs.existsSync(crdDir), `Chaos Mesh CRDs not found at ${crdDir}`);
});

for (const f of yamlFiles) {
  test(`${f} parses as YAML`, () => {
    const parsed = loadYamlFile(path.join(k8sDir, f));
    assert.ok(parsed.length > 0, "no documents");
  });
  for (const [i, doc] of (docs.get(f) ?? []).entries()) {
    test(`${f} #${i} ${doc.kind} ${doc.metadata?.name} validates against its schema`, async () => {
      assert.deepEqual(await validateObject(doc), []);
    });
  }
}

test("RBAC is namespace-scoped and grants only what the launcher uses", () => {
  for (const d of all()) {
    assert.ok(!/^Cluster/.test(d.kind), `${d.kind} ${d.metadata?.name}: nothing cluster-wide`);
    if (["Role", "RoleBinding", "ServiceAccount", "Secret", "Job", "ConfigMap", "Workflow"].includes(d.kind)) {
      assert.ok(d.metadata.namespace, `${d.kind} ${d.metadata.name} names its namespace`);
    }
  }
  const launcher = one("Role", "memstrain-launcher");
  const rules = launcher.rules.map((r) => `${r.apiGroups.join(",")}|${r.resources.join(",")}|${[...r.verbs].sort().join(",")}`);
  assert.deepEqual(rules.sort(), [
    "batch|jobs|create,delete,get,list,watch",
    "|pods/log|get",
    "|pods|get,list,watch",
  ].sort());
  assert.deepEqual(one("Role", "memstrain-target-reader").rules, [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] }]);
  for (const d of all().filter((x) => x.kind === "Role")) {
    for (const r of d.rules) assert.ok(![...r.verbs, ...r.resources, ...r.apiGroups].includes("*"), `${d.metadata.name}: no wildcards`);
  }
  for (const b of all().filter((x) => x.kind === "RoleBinding")) {
    assert.equal(b.roleRef.kind, "Role");
    const role = one("Role", b.roleRef.name);
    assert.equal(role.metadata.namespace, b.metadata.namespace, `${b.metadata.name} binds a Role of its own namespace`);
    assert.deepEqual(b.subjects, [{ kind: "ServiceAccount", name: "memstrain-launcher", namespace: "memstrain" }]);
  }
  const runner = one("ServiceAccount", "memstrain-runner");
  assert.equal(runner.automountServiceAccountToken, false);
  assert.ok(!all().some((d) => d.kind === "RoleBinding" && d.subjects.some((s) => s.name === "memstrain-runner")),
            "the Job's service account has no rights");
  const token = one("Secret", "memstrain-launcher-token");
  assert.equal(token.type, "kubernetes.io/service-account-token");
  assert.equal(token.metadata.annotations["kubernetes.io/service-account.name"], "memstrain-launcher");
});

test("the Job runs on the target's node with the host's cgroups, least privilege and bounded resources", () => {
  const job = one("Job", "memstrain-example");
  const spec = job.spec.template.spec;
  const c = spec.containers[0];
  assert.ok(spec.nodeName, "nodeName");
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
  // Requests that fit beside a busy target; limits so memstrain itself cannot take the node.
  const cpuMilli = (q) => (q.endsWith("m") ? Number(q.slice(0, -1)) : Number(q) * 1000);
  const mib = (q) => Number(q.replace(/Mi$/, ""));
  assert.ok(cpuMilli(c.resources.requests.cpu) <= 100 && mib(c.resources.requests.memory) <= 128, "small requests");
  assert.ok(c.resources.limits.cpu && c.resources.limits.memory, "limits set");
  assert.equal(c.securityContext.runAsUser, 0, "cgroup files belong to root");
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
});

test("the Workflow checks health, runs the launcher as a Task, and branches on exitCode and stdout", () => {
  const known = new Set(["Serial", "Parallel", "Task", "Suspend", "Schedule", "StatusCheck", "StressChaos", "PodChaos",
                         "NetworkChaos", "IOChaos", "HTTPChaos", "TimeChaos", "KernelChaos", "DNSChaos", "JVMChaos"]);
  for (const wf of all().filter((d) => d.kind === "Workflow")) {
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
        const mount = t.task.container.volumeMounts.find((m) => m.mountPath === "/var/run/secrets/memstrain-launcher");
        assert.ok(mount, `${name}/${t.name} mounts the launcher token`);
        assert.equal(t.task.volumes.find((v) => v.name === mount.name).secret.secretName, "memstrain-launcher-token");
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
  assert.ok(one("Role", "memstrain-target-reader").metadata.namespace === dep.metadata.namespace, "launcher may read the target's pods");
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
