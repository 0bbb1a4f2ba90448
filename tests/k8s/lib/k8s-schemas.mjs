// Offline validation of Kubernetes manifests:
//  - core objects against the Kubernetes OpenAPI schemas shipped in the npm package
//    kubernetes-models (its generated validators), with unknown fields reported as errors too
//    (those validators accept them; the API server drops or rejects them, and a typo such as
//    `hostPid` would silently lose its meaning);
//  - Chaos Mesh objects against the CRDs' openAPIV3Schema (ajv), also without unknown fields.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import Ajv from "ajv";
import yaml from "js-yaml";

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, "../../..");
/// The CRDs are read-only data beside the repository (../shared), never copied into it. A git
/// worktree elsewhere (git worktree add) finds them beside its main checkout.
export const crdDir = process.env.MEMSTRAIN_CRD_DIR ?? findCrdDir();

function findCrdDir() {
  const beside = (checkout) => path.resolve(checkout, "../shared/schemas/chaos-mesh");
  if (fs.existsSync(beside(repoRoot))) return beside(repoRoot);
  const r = spawnSync("git", ["-C", repoRoot, "rev-parse", "--path-format=absolute", "--git-common-dir"], { encoding: "utf8" });
  const main = r.status === 0 ? path.dirname(r.stdout.trim()) : null;
  return main && fs.existsSync(beside(main)) ? beside(main) : beside(repoRoot);
}
const modelsDir = path.resolve(here, "../node_modules/kubernetes-models/_schemas");

/** Every YAML document in a file, with its index; throws on a parse error (js-yaml names the line). */
export function loadYamlFile(file) {
  return yaml.loadAll(fs.readFileSync(file, "utf8"), null, { filename: file }).filter((d) => d !== null);
}

// "rbac.authorization.k8s.io/v1" + "Role" -> "IoK8sApiRbacV1Role", as kubernetes-models names them.
function schemaName(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["core", apiVersion];
  const g = group.split(".")[0];
  const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
  return `IoK8sApi${cap(g)}${cap(version)}${kind}`;
}

const validators = new Map();
async function coreValidator(apiVersion, kind) {
  const name = schemaName(apiVersion, kind);
  if (!validators.has(name)) {
    const file = path.join(modelsDir, `${name}.mjs`);
    if (!fs.existsSync(file)) return null;
    // A file URL: the package's "exports" map does not list the generated schemas.
    validators.set(name, (await import(pathToFileURL(file).href)).validate);
  }
  return validators.get(name);
}

// Wraps `value` so that the validator's reads can be recorded: a generated validator reads each
// property its schema knows, and enumerates the keys of maps (labels, data) it accepts freely.
function track(value, pointer, records) {
  if (value === null || typeof value !== "object") return value;
  const rec = { pointer, value, read: new Set(), enumerated: Array.isArray(value) };
  records.push(rec);
  const copy = Array.isArray(value)
    ? value.map((v, i) => track(v, `${pointer}/${i}`, records))
    : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, track(v, `${pointer}/${k}`, records)]));
  return new Proxy(copy, {
    get(t, k, r) {
      if (typeof k === "string") rec.read.add(k);
      return Reflect.get(t, k, r);
    },
    has(t, k) {
      if (typeof k === "string") rec.read.add(k);
      return Reflect.has(t, k);
    },
    ownKeys(t) {
      rec.enumerated = true;
      return Reflect.ownKeys(t);
    },
  });
}

/**
 * Validates one core Kubernetes object. Returns a list of problems ("" pointer = the object),
 * empty when it is valid.
 */
export async function validateCore(doc) {
  const validate = await coreValidator(doc.apiVersion, doc.kind);
  if (!validate) return [`no Kubernetes schema for ${doc.apiVersion} ${doc.kind}`];
  const records = [];
  const ok = validate(track(doc, "", records));
  if (!ok) return validate.errors.map((e) => `${e.instancePath || "/"}: ${e.message}`);
  const problems = [];
  for (const r of records) {
    if (r.enumerated) continue;
    for (const k of Object.keys(r.value)) {
      if (!r.read.has(k)) problems.push(`${r.pointer}/${k}: unknown field`);
    }
  }
  return problems;
}

// OpenAPI v3 as CRDs write it -> JSON Schema that ajv checks strictly: objects with declared
// properties accept nothing else (as `kubectl apply --validate=strict` would refuse).
function strictify(schema) {
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) return schema;
  const out = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k.startsWith("x-kubernetes-") || k === "description") continue;
    if (k === "properties") {
      out[k] = Object.fromEntries(Object.entries(v).map(([name, s]) => [name, strictify(s)]));
    } else if (k === "items" || k === "not" || (k === "additionalProperties" && typeof v === "object")) {
      out[k] = strictify(v);
    } else if (k === "anyOf" || k === "oneOf" || k === "allOf") {
      out[k] = v.map(strictify);
    } else {
      out[k] = v;
    }
  }
  if (schema["x-kubernetes-int-or-string"] && !out.anyOf) out.anyOf = [{ type: "integer" }, { type: "string" }];
  if (out.properties && out.additionalProperties === undefined && !schema["x-kubernetes-preserve-unknown-fields"]) {
    out.additionalProperties = false;
  }
  return out;
}

const crdValidators = new Map();
function crdValidator(group, version, kind) {
  const key = `${group}/${version}/${kind}`;
  if (crdValidators.has(key)) return crdValidators.get(key);
  let found = null;
  for (const file of fs.readdirSync(crdDir).filter((f) => f.endsWith(".yaml"))) {
    for (const crd of loadYamlFile(path.join(crdDir, file))) {
      if (crd.kind !== "CustomResourceDefinition" || crd.spec.group !== group || crd.spec.names.kind !== kind) continue;
      const v = crd.spec.versions.find((x) => x.name === version);
      if (!v) continue;
      const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
      found = ajv.compile(strictify(v.schema.openAPIV3Schema));
    }
  }
  crdValidators.set(key, found);
  return found;
}

/** Validates a Chaos Mesh object against its CRD in crdDir. Returns problems, empty when valid. */
export function validateCustom(doc) {
  const [group, version] = doc.apiVersion.split("/");
  const validate = crdValidator(group, version, doc.kind);
  if (!validate) return [`no CRD for ${doc.apiVersion} ${doc.kind} in ${crdDir}`];
  if (validate(doc)) return [];
  return validate.errors.map((e) => {
    const extra = e.keyword === "additionalProperties" ? ` (${e.params.additionalProperty})` : "";
    return `${e.instancePath || "/"}: ${e.message}${extra}`;
  });
}

/** Either kind of object. */
export async function validateObject(doc) {
  if (typeof doc?.apiVersion !== "string" || typeof doc?.kind !== "string") return ["not a Kubernetes object (apiVersion, kind)"];
  const problems = doc.apiVersion.startsWith("chaos-mesh.org/") ? validateCustom(doc) : await validateCore(doc);
  const name = doc.metadata?.name;
  if (typeof name !== "string" || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253) {
    problems.push(`/metadata/name: ${JSON.stringify(name)} is not a DNS-1123 name`);
  }
  return problems;
}
