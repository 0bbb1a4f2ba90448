// docs/plan.schema.json (JSON Schema 2020-12) against what memstrain ships and refuses:
// - the schema compiles with ajv strict about unknown keywords and formats (its type-inference,
//   oneOf-required and tuple lints are off: they flag valid 2020-12 idioms used here);
// - every shipped plan (plans/*.json, the k8s ConfigMap's plans) validates;
// - every plan in the hostile corpus (tests/data/plans/bad/) is refused by the JSON parser or by
//   the schema, except those listed in validate-only.tsv: plans only `memstrain validate` can tell
//   are wrong (a range written with a unit, a reference to a stage, a duplicate key...). The list
//   must be exact, so a schema that learns more, or a corpus that grows, updates it;
// - with MEMSTRAIN_BINARY set, `memstrain validate` refuses each of those (exit 2): where the
//   schema cannot tell, memstrain does. (Every corpus plan against the binary is
//   tests/integration/hostile_plans_test.cpp's job.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Ajv2020 from "ajv/dist/2020.js";
import yaml from "js-yaml";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..");
const schema = JSON.parse(readFileSync(join(repo, "docs/plan.schema.json"), "utf8"));
const ajv = new Ajv2020({ strict: true, strictRequired: false, strictTuples: false, strictTypes: false, allErrors: true, allowUnionTypes: true });
const validate = ajv.compile(schema);
const corpusDir = join(repo, "tests/data/plans/bad");

function errorsOf(plan) {
  return validate(plan) ? [] : validate.errors.map((e) => `${e.instancePath || "/"} ${e.message}`);
}

test("the schema is 2020-12 and compiles in strict mode", () => {
  assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
  assert.equal(typeof validate, "function");
});

test("every shipped plan validates against the schema", () => {
  const files = readdirSync(join(repo, "plans")).filter((f) => f.endsWith(".json"));
  assert.ok(files.length >= 8, `only ${files.length} plans`);
  for (const f of files) {
    const plan = JSON.parse(readFileSync(join(repo, "plans", f), "utf8"));
    assert.deepEqual(errorsOf(plan), [], `plans/${f}`);
  }
});

test("the k8s ConfigMap's plans validate against the schema", () => {
  const docs = yaml.loadAll(readFileSync(join(repo, "k8s/base/namespaced/plan-configmap.yaml"), "utf8"));
  let n = 0;
  for (const d of docs) {
    for (const [key, text] of Object.entries(d?.data ?? {})) {
      if (!key.endsWith(".json")) continue;
      assert.deepEqual(errorsOf(JSON.parse(text)), [], `k8s/base/namespaced/plan-configmap.yaml ${key}`);
      n++;
    }
  }
  assert.ok(n > 0, "no plans in the ConfigMap");
});

test("Kubernetes units and Go durations are valid plan syntax", () => {
  const plan = {
    name: "k8s",
    target: { launch: { command: ["/bin/true"], memory_limit: "512Mi" } },
    stages: [
      { name: "a", duration: "1m30s", pressure: { size: "1e8", ramp: "1h2m" } },
      { name: "b", duration: "90s", pressure: { level: "80%" } },
    ],
  };
  assert.deepEqual(errorsOf(plan), []);
  for (const bad of ["512m", "1e", "64 MiB", "64mib", "-1Mi", "1Ei"]) {
    plan.target.launch.memory_limit = bad;
    assert.notDeepEqual(errorsOf(plan), [], `memory_limit ${bad}`);
  }
  plan.target.launch.memory_limit = "512Mi";
  for (const bad of ["1m30", "30", "1d", "-1s", "1h 2m"]) {
    plan.stages[0].duration = bad;
    assert.notDeepEqual(errorsOf(plan), [], `duration ${bad}`);
  }
});

function loadValidateOnly() {
  const m = new Map();
  for (const line of readFileSync(join(here, "validate-only.tsv"), "utf8").split("\n")) {
    if (!line.trim() || line.startsWith("#")) continue;
    const [file, why] = line.split("\t");
    assert.ok(why, `validate-only.tsv: no reason for ${file}`);
    m.set(file, why);
  }
  return m;
}

// What the schema (after a strict JSON parse) says about one corpus file: "parse" when it is not
// JSON as JSON.parse reads it, "schema" when the schema refuses it, "accepted" otherwise.
function schemaVerdict(file) {
  const bytes = readFileSync(join(corpusDir, file));
  let doc;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return "parse";
  }
  return validate(doc) ? "accepted" : "schema";
}

const corpus = readdirSync(corpusDir).filter((f) => f.endsWith(".json"));

test("every corpus plan is refused by the parser or the schema, except the listed validate-only ones", () => {
  assert.ok(corpus.length > 200, `only ${corpus.length} corpus plans`);
  const only = loadValidateOnly();
  const accepted = corpus.filter((f) => schemaVerdict(f) === "accepted");
  const unexpected = accepted.filter((f) => !only.has(f));
  const stale = [...only.keys()].filter((f) => !accepted.includes(f));
  assert.deepEqual(unexpected, [], "the schema accepts these corpus plans: refuse them in the schema, or list them with the reason");
  assert.deepEqual(stale, [], "listed as validate-only but the schema (or the parser) refuses them now, or they are gone: unlist them");
  const counts = { parse: 0, schema: 0, accepted: accepted.length };
  for (const f of corpus) {
    const v = schemaVerdict(f);
    if (v !== "accepted") counts[v]++;
  }
  console.log(`schema: ${corpus.length} corpus plans: ${counts.parse} not JSON, ${counts.schema} refused by the schema, ` +
              `${counts.accepted} only memstrain validate refuses (validate-only.tsv)`);
});

test("memstrain validate refuses every plan the schema cannot tell", { skip: !process.env.MEMSTRAIN_BINARY && "MEMSTRAIN_BINARY not set" }, () => {
  for (const f of loadValidateOnly().keys()) {
    const r = spawnSync(process.env.MEMSTRAIN_BINARY, ["validate", join(corpusDir, f)], { encoding: "utf8", env: { ...process.env, ASAN_OPTIONS: "detect_leaks=0" } });
    assert.equal(r.status, 2, `${f}: memstrain validate exited ${r.status}\n${r.stderr}`);
  }
});
