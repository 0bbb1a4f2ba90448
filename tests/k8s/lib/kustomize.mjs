// A minimal renderer of the kustomize features k8s/ uses, so that the overlays are built and
// validated offline on a machine without kustomize (Debian bookworm's kubectl is 1.20, whose
// built-in kustomize v2.0.3 predates `labels:` and `patches:`, and no npm package renders
// kustomizations). It knows exactly these, and refuses any other field of a kustomization:
//   resources   files (every YAML document) and directories (a kustomization.yaml in them),
//               rendered in order
//   namespace   sets metadata.namespace of every object but the kinds kustomize itself knows to be
//               cluster-scoped (a kind it does not know, such as ValidatingAdmissionPolicy, gets a
//               namespace too: that is why k8s/base keeps the policies out of its namespaced part),
//               and of RoleBinding subjects that are ServiceAccounts named "default" or without one
//   labels      pairs added to metadata.labels (includeSelectors and includeTemplates false)
//   patches     inline JSON 6902 patches (add, replace, remove) on targets chosen by
//               group/version/kind/name
// tests/k8s compares its output with `kubectl kustomize` where a kubectl with kustomize v4 or
// newer is installed, so the two cannot drift apart unnoticed.
import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";

// kustomize's own list of cluster-scoped kinds (those k8s/ could meet).
const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
  "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "PersistentVolume", "StorageClass",
  "PriorityClass", "APIService", "Node"]);

const KNOWN_FIELDS = new Set(["apiVersion", "kind", "namespace", "labels", "resources", "patches"]);

function loadDocs(file) {
  return yaml.loadAll(fs.readFileSync(file, "utf8"), null, { filename: file }).filter((d) => d !== null);
}

function kustomizationFile(dir) {
  for (const name of ["kustomization.yaml", "kustomization.yml", "Kustomization"]) {
    const f = path.join(dir, name);
    if (fs.existsSync(f)) return f;
  }
  throw new Error(`${dir}: no kustomization.yaml`);
}

function pointer(p) {
  if (!p.startsWith("/")) throw new Error(`JSON pointer ${p}: must start with /`);
  return p.slice(1).split("/").map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
}

/** Applies JSON 6902 operations (add, replace, remove) to obj, in place. */
export function applyJson6902(obj, ops) {
  for (const op of ops) {
    const keys = pointer(op.path);
    const last = keys.pop();
    let parent = obj;
    for (const k of keys) {
      if (parent === null || typeof parent !== "object" || !(k in parent)) throw new Error(`${op.op} ${op.path}: no ${k}`);
      parent = parent[k];
    }
    const isList = Array.isArray(parent);
    if (op.op === "add") {
      if (isList) parent.splice(last === "-" ? parent.length : Number(last), 0, op.value);
      else parent[last] = op.value;
    } else if (op.op === "replace") {
      if (!(last in parent)) throw new Error(`replace ${op.path}: no such field`);
      parent[last] = op.value;
    } else if (op.op === "remove") {
      if (!(last in parent)) throw new Error(`remove ${op.path}: no such field`);
      if (isList) parent.splice(Number(last), 1);
      else delete parent[last];
    } else {
      throw new Error(`JSON 6902 op ${op.op} is not supported here`);
    }
  }
}

function matchesTarget(obj, target) {
  const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : ["", obj.apiVersion];
  for (const [k, want] of Object.entries(target)) {
    const have = { group, version, kind: obj.kind, name: obj.metadata?.name, namespace: obj.metadata?.namespace }[k];
    if (have === undefined && !["group", "version", "kind", "name", "namespace"].includes(k)) {
      throw new Error(`patch target field ${k} is not supported here`);
    }
    if (have !== want) return false;
  }
  return true;
}

/** The objects `kubectl kustomize dir` would print (order aside). */
export function kustomize(dir) {
  const file = kustomizationFile(dir);
  const k = loadDocs(file)[0];
  for (const field of Object.keys(k)) {
    if (!KNOWN_FIELDS.has(field)) throw new Error(`${file}: ${field} is not supported by tests/k8s/lib/kustomize.mjs`);
  }
  if (k.kind !== "Kustomization") throw new Error(`${file}: kind ${k.kind}`);
  let objs = [];
  for (const r of k.resources ?? []) {
    const p = path.resolve(dir, r);
    objs.push(...(fs.statSync(p).isDirectory() ? kustomize(p) : loadDocs(p)));
  }
  objs = structuredClone(objs);
  for (const patch of k.patches ?? []) {
    if (!patch.patch || !patch.target) throw new Error(`${file}: only inline patches with a target are supported`);
    const ops = yaml.load(patch.patch);
    if (!Array.isArray(ops)) throw new Error(`${file}: only JSON 6902 patches are supported`);
    const hits = objs.filter((o) => matchesTarget(o, patch.target));
    if (hits.length === 0) throw new Error(`${file}: patch target ${JSON.stringify(patch.target)} matches nothing`);
    for (const o of hits) applyJson6902(o, ops);
  }
  if (k.namespace) {
    for (const o of objs) {
      if (CLUSTER_SCOPED.has(o.kind)) continue;
      o.metadata.namespace = k.namespace;
      if (o.kind === "RoleBinding" || o.kind === "ClusterRoleBinding") {
        for (const s of o.subjects ?? []) {
          if (s.kind === "ServiceAccount" && (s.name === "default" || !s.namespace)) s.namespace = k.namespace;
        }
      }
    }
  }
  for (const l of k.labels ?? []) {
    if (l.includeSelectors || l.includeTemplates) throw new Error(`${file}: labels with includeSelectors/includeTemplates are not supported`);
    for (const o of objs) o.metadata.labels = { ...(o.metadata.labels ?? {}), ...l.pairs };
  }
  return objs;
}

/** "kind/namespace/name" of an object, to compare renderings regardless of order. */
export const objectKey = (o) => `${o.kind}/${o.metadata?.namespace ?? ""}/${o.metadata?.name}`;
