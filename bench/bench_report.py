"""Reads memstrain's report.json / samples.jsonl for the benchmark scripts."""
import json
import sys


def stage_of(report, name):
    return [s for s in report["stages"] if s["name"] == name][0]


def fill(samples_path, stage, threshold=4 * 2**30):
    t0 = None
    for line in open(samples_path):
        s = json.loads(line)
        if s["stage"] != stage:
            continue
        if t0 is None:
            t0 = s["t"]
        if s["target_cgroup"]["usage_bytes"] >= threshold:
            return f"{s['t'] - t0:.3f}"
    return "not reached"


def field(report_path, stage, path):
    v = stage_of(json.load(open(report_path)), stage)
    for k in path.split("."):
        v = v[k]
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def precision(report_path, samples_path, stage):
    r = json.load(open(report_path))
    st = stage_of(r, stage)
    limit = r["cgroup"]["effective_limit_bytes"]
    margin = r["cgroup"]["safety_margin_bytes"]
    usage = [json.loads(l)["measured_usage_bytes"] for l in open(samples_path) if json.loads(l)["stage"] == stage]
    e = st["setpoint_error"]
    return "|".join([f"{e['mean_abs_fraction_of_limit'] * 100:.2f}", f"{e['max_abs_bytes'] / 2**20:.1f}",
                     f"{max(usage) / 2**20:.1f}", f"{(limit - margin) / 2**20:.1f}"])


def median(*values):
    nums = sorted(float(v) for v in values if v != "not reached")
    missed = sum(1 for v in values if v == "not reached")
    if not nums:
        return "not reached"
    mid = nums[len(nums) // 2] if len(nums) % 2 else (nums[len(nums) // 2 - 1] + nums[len(nums) // 2]) / 2
    text = f"{mid:.2f} ({nums[0]:.2f}–{nums[-1]:.2f})"
    return text + (f", {missed} not reached" if missed else "")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    print({"fill": fill, "field": field, "precision": precision, "median": median}[cmd](*args))
