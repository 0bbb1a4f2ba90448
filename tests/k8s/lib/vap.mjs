// ValidatingAdmissionPolicy, evaluated offline as the API server evaluates it, with the CEL
// evaluator @bufbuild/cel: the binding's match (resource rules, operations, namespaceSelector by
// matchLabels), matchConditions, the params object (paramRef by name in the admitted object's
// namespace, parameterNotFoundAction), variables in order, then every validation; an expression
// that errors counts as failurePolicy says (Fail: denied). The objects are bound as the API server
// binds them: object, oldObject, params, namespaceObject, request (and variables); JSON integers
// become CEL ints, as they are in the API server.
//
// What it does not do: type-check the expressions against the OpenAPI schemas (the API server only
// warns about those), authorizer checks, audit annotations, matchExpressions selectors,
// objectSelector, and Kubernetes' CEL extension libraries (the policies here use none of them).
import { celEnv, isCelError, parse, plan } from "@bufbuild/cel";

// Each expression is parsed and planned once; the plans are reused over every evaluation.
const env = celEnv();
const plans = new Map();
/** Evaluates CEL `expr` over `bindings`; throws when the evaluation ends in an error. */
export function evalCel(expr, bindings) {
  let p = plans.get(expr);
  if (!p) {
    p = plan(env, parse(expr));
    plans.set(expr, p);
  }
  const r = p(bindings);
  if (isCelError(r)) throw new Error(r.message);
  return r;
}

/** JSON -> the values @bufbuild/cel binds: objects as maps, integers as int (bigint). */
export function toCel(v) {
  if (Array.isArray(v)) return v.map(toCel);
  if (v !== null && typeof v === "object") return new Map(Object.entries(v).map(([k, x]) => [k, toCel(x)]));
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
  return v;
}

const groupVersion = (apiVersion) => (apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion]);

/**
 * An admission request for `object` (CREATE/UPDATE) or `oldObject` (DELETE) as the API server
 * builds it. resource: plural ("jobs"); subResource: e.g. "ephemeralcontainers".
 */
export function admissionRequest({ operation = "CREATE", object = null, oldObject = null, resource, subResource = "", username }) {
  const o = object ?? oldObject;
  const [group, version] = groupVersion(o.apiVersion);
  return {
    uid: "00000000-0000-4000-8000-000000000000",
    kind: { group, version, kind: o.kind },
    resource: { group, version, resource },
    subResource,
    requestKind: { group, version, kind: o.kind },
    requestResource: { group, version, resource },
    name: o.metadata?.name ?? "",
    namespace: o.metadata?.namespace ?? "",
    operation,
    userInfo: { username, groups: ["system:authenticated"] },
    dryRun: false,
  };
}

function ruleMatches(rule, request) {
  const res = request.subResource ? `${request.resource.resource}/${request.subResource}` : request.resource.resource;
  const has = (list, v) => list.includes("*") || list.includes(v);
  return has(rule.apiGroups, request.resource.group) && has(rule.apiVersions, request.resource.version) &&
    has(rule.resources, res) && has(rule.operations ?? ["*"], request.operation);
}

function selectorMatches(selector, labels) {
  if (!selector) return true;
  if (selector.matchExpressions) throw new Error("matchExpressions: not supported by this evaluator");
  return Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels?.[k] === v);
}

/**
 * Evaluates `policy` with `binding` on one admission request. `paramsInNamespace(ns, name)` returns
 * the param object or null. Returns { applies, allowed, failures: [{ message, error }] }.
 */
export function evaluatePolicy({ policy, binding, request, object = null, oldObject = null, namespaceObject, paramsInNamespace = () => null }) {
  const spec = policy.spec;
  const failures = [];
  const done = (applies) => ({ applies, allowed: failures.length === 0, failures });
  if (!spec.matchConstraints.resourceRules.some((r) => ruleMatches(r, request))) return done(false);
  const mr = binding.spec.matchResources ?? {};
  if (mr.resourceRules && !mr.resourceRules.some((r) => ruleMatches(r, request))) return done(false);
  if (mr.objectSelector) throw new Error("objectSelector: not supported by this evaluator");
  if (request.namespace && !selectorMatches(mr.namespaceSelector, namespaceObject?.metadata?.labels)) return done(false);

  let params = null;
  if (spec.paramKind) {
    const ref = binding.spec.paramRef;
    if (!ref?.name) throw new Error("paramRef without a name: not supported by this evaluator");
    params = paramsInNamespace(ref.namespace ?? request.namespace, ref.name);
    if (params === null) {
      if (ref.parameterNotFoundAction === "Deny") failures.push({ message: `no params ${ref.name} in ${request.namespace}`, error: null });
      return done(true);
    }
  }
  const failurePolicyFails = (spec.failurePolicy ?? "Fail") === "Fail";
  const vars = new Map();
  const broken = new Set();
  const bindings = {
    object: toCel(object), oldObject: toCel(oldObject), params: toCel(params),
    namespaceObject: toCel(namespaceObject ?? null), request: toCel(request), variables: vars,
  };
  const bind = () => bindings;
  const usesBroken = (expr) => [...broken].some((n) => new RegExp(`\\bvariables\\.${n}\\b`).test(expr));
  const evaluate = (expr) => {
    if (usesBroken(expr)) throw new Error(`uses a variable that failed: ${[...broken].join(", ")}`);
    return evalCel(expr, bind());
  };

  for (const mc of spec.matchConditions ?? []) {
    let r;
    try {
      r = evaluate(mc.expression);
    } catch (e) {
      if (failurePolicyFails) failures.push({ message: `matchCondition ${mc.name}`, error: String(e.message ?? e) });
      return done(true);
    }
    if (r !== true) return done(false);
  }
  for (const v of spec.variables ?? []) {
    try {
      vars.set(v.name, evaluate(v.expression));
    } catch {
      broken.add(v.name);
    }
  }
  for (const val of spec.validations) {
    let r, error = null;
    try {
      r = evaluate(val.expression);
      if (typeof r !== "boolean") error = `validation returned ${typeof r}, not a bool`;
    } catch (e) {
      error = String(e.message ?? e);
    }
    if (error !== null) {
      if (failurePolicyFails) failures.push({ message: val.message ?? val.expression, error });
      continue;
    }
    if (r) continue;
    let message = val.message ?? `failed expression: ${val.expression}`;
    if (val.messageExpression) {
      try {
        message = evaluate(val.messageExpression);
      } catch {
        // the API server falls back to message
      }
    }
    failures.push({ message, error: null });
  }
  return done(true);
}
