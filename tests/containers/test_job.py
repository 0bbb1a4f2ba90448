"""The shipped Job as a runtime runs it. k8s/job.yaml (and the launcher's rendering of it for
cgroup v1 nodes) becomes the container a node would start for its pod template: read-only root
without the /run tmpfs podman adds, its volumes (the node's cgroup tree, the journal and reports
hostPaths, the plan ConfigMap, the /tmp emptyDir), security context, host pid namespace and env.
It runs the real entry point, `memstrain-launch.sh in-job`, in an image made from the project's
binary, against the demo target in a runc container at a kubelet path. Also: the journal survives
a killed Job and `memstrain-launch.sh recover`'s Job undoes the run; a Job without a writable
journal directory or without the host's pid namespace refuses before touching anything."""

import json
import os
import re
import unittest

import harness as h
import yaml

MiB = h.MiB
IMAGE = "memstrain:0.1.0"  # the manifests' image name, imported into this run's own podman storage
NODE = "node-under-test"
SHORT = {"baseline": 3, "ramp": 4, "hold": 4, "release": 2}  # seconds per stage of the ConfigMap plans


pod = None


def setUpModule():
    global podman, pod, node_dir
    h.memory_mount()
    podman = h.Podman()
    podman.import_rootfs(h.build_memstrain_rootfs(), IMAGE)
    node_dir = h.STATE / "node"  # stands for the node's /var and /run in hostPath volumes
    pod = h.Pod("burstable", "cgroupfs", "", limit_bytes=192 * MiB)
    pod.port = h.free_port()
    try:
        pod.app = pod.run(h.demo_target_args(pod.port), limit_bytes=128 * MiB)
        h.wait_until(lambda: h.http_ok(pod.port), what="the demo target")
    except BaseException:
        tearDownModule()
        raise


def tearDownModule():
    # The target's runc container and its cgroups go whatever happened (scripts/containers-test.sh
    # sweeps once more).
    if pod is not None:
        pod.delete()
    h.remove_cgroup_tree(h.CGROUP_BASE)


def job_from_manifest():
    """k8s/job.yaml with its REPLACE-* values filled in for the target pod."""
    text = (h.REPO / "k8s" / "job.yaml").read_text()
    for placeholder, value in {"REPLACE-node-name": NODE, "REPLACE-pod-uid": pod.uid, "REPLACE-container-id": pod.app.id,
                               "REPLACE-pod-ip": "127.0.0.1", "REPLACE-target-pod": "demo-target-0",
                               "replace-target-pod": "demo-target-0"}.items():
        text = text.replace(placeholder, value)
    job = yaml.safe_load(text)
    assert "replace-" not in json.dumps(job).lower(), "a placeholder of k8s/job.yaml is not filled in"
    return job


def launcher(*args):
    """k8s/memstrain-launch.sh with a stand-in kubectl that knows only the target pod."""
    fake = h.STATE / "fake-kubectl"
    fake.mkdir(exist_ok=True)
    pod_json = {
        "metadata": {"name": "demo-target-0", "namespace": "staging", "uid": pod.uid},
        "spec": {"nodeName": NODE, "containers": [{"name": "demo-target"}], "tolerations": []},
        "status": {"phase": "Running", "podIP": "127.0.0.1",
                   "containerStatuses": [{"name": "demo-target", "containerID": "containerd://" + pod.app.id,
                                          "state": {"running": {}}}]},
    }
    (fake / "pod.json").write_text(json.dumps(pod_json))
    (fake / "kubectl").write_text(f"#!/bin/sh\n[ \"$1 $2\" = \"get pod\" ] && exec cat {fake}/pod.json\necho \"fake kubectl: $*\" >&2\nexit 1\n")
    (fake / "kubectl").chmod(0o755)
    env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}", MEMSTRAIN_JOB_SUFFIX="ctr", MEMSTRAIN_TOKEN_DIR="/nonexistent")
    return yaml.safe_load(h.run(["bash", h.REPO / "k8s" / "memstrain-launch.sh", *args], env=env).stdout)


def render_run_job(version, plan_key):
    return launcher("render", "--pod", "demo-target-0", "-n", "staging", "--plan-configmap", "memstrain-plan",
                    "--plan-key", plan_key, "--job-namespace", "memstrain", "--image", IMAGE, "--cgroup-version", str(version))


class JobCase(unittest.TestCase):
    def run_job(self, job, name, stages=SHORT, plan_edit=None, detach=False, timeout=240):
        """Runs the pod template of `job` as a node would; returns (exit code, output)."""
        data = {k: h.scaled_plan(v, stages, pod.port) for k, v in h.configmap_data("memstrain-plan").items()}
        if plan_edit:
            data = {k: json.dumps(plan_edit(json.loads(v))) for k, v in data.items()}
        env, mounts = h.sanitizer_passthrough()
        scratch = h.STATE / "jobs" / name
        args = h.pod_to_podman(job["spec"]["template"]["spec"], image=IMAGE, node_dir=node_dir, scratch=scratch,
                               configmaps={"memstrain-plan": data}, name=name, extra_mounts=mounts, extra_env=env)
        self.addCleanup(podman, "rm", "--force", "--time", "0", name, check=False)
        log = scratch / "container.log"
        podman.start(args, log)
        if detach:
            return None, None
        code = podman.wait(name, timeout)
        return code, h.cri_log(log)

    def reports(self, job):
        env = {e["name"]: e["value"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
        (reports,) = [v for v in job["spec"]["template"]["spec"]["volumes"] if v["name"] == "reports"]
        assert env["MEMSTRAIN_REPORT_DIR"].startswith("/reports/")
        return node_dir / reports["hostPath"]["path"].lstrip("/") / env["MEMSTRAIN_REPORT_DIR"][len("/reports/"):]

    def journal_dir(self):
        return node_dir / "run" / "memstrain" / "jobs"

    def expect_target_untouched(self):
        self.assertTrue(pod.app.running(), "the target container survives")
        self.assertTrue(h.http_ok(pod.port))
        self.assertEqual(h.read_cgroup(pod.app.cgroup, "cgroup.procs").split(), [str(pod.app.pid)])
        self.assertEqual(h.cgroup_dirs_below(pod.cgroup), [pod.app.cgroup], "no stressor cgroup left in the pod")

    def expect_verdict(self, code, out, job, measured):
        """A verdict (whichever: the shipped checks judge latency on a busy machine) and the report
        where the Job says, from a run that saw the target and cleaned up."""
        line = h.last_line(out)
        m = h.VERDICT_RE.match(line)
        self.assertIsNotNone(m, f"the Job's last line is memstrain's verdict line:\n{out}")
        self.assertEqual(int(m.group(2)), code)
        self.assertIn(code, (0, 1, 5), out)
        report_dir = self.reports(job)
        self.assertIn(f"report=/reports/{report_dir.name}/report.json", line)
        report = json.loads((report_dir / "report.json").read_text())
        self.assertEqual(report["verdict"], m.group(1))
        self.assertEqual(report["run"]["status"], "completed", report["run"]["error"])
        self.assertEqual(report["cleanup"]["status"], "ok")
        self.assertEqual(report["cgroup"]["mount"], "/host/sys/fs/cgroup/memory" if h.memory_mount()[1] == 1 else "/host/sys/fs/cgroup")
        self.assertEqual(report["cgroup"]["target"], pod.app.cgroup)
        self.assertEqual(report["cgroup"]["measured"], measured)
        self.assertEqual(report["target"]["pid"], pod.app.pid, "the host's pid namespace: the target's own pid")
        self.assertEqual(report["target"]["observation"], "processes")
        self.assertTrue(any(st["heap"] for st in report["stages"]), "pprof answered at the pod IP")
        self.assertGreater(report["stages"][2]["pressure"]["reached_bytes"], 16 * MiB)
        plan = json.loads((report_dir / "plan.json").read_text())
        self.assertEqual(plan["target"]["attach"], {"pod_uid": pod.uid, "container_id": "containerd://" + pod.app.id})
        for f in ("samples.jsonl", "report.html", "junit.xml", "metrics.prom"):
            self.assertTrue((report_dir / f).is_file(), f)
        self.assertEqual(list(self.journal_dir().iterdir()), [], "the journal is gone after a clean run")
        self.expect_target_untouched()
        return report


class ShippedJob(JobCase):
    def test_job_yaml_v2_privileged_beside(self):
        job = job_from_manifest()
        sc = job["spec"]["template"]["spec"]["containers"][0]["securityContext"]
        self.assertEqual((sc["privileged"], sc["readOnlyRootFilesystem"]), (True, True))
        code, out = self.run_job(job, "memstrain-ctr-job-v2")
        self.assertRegex(out, rf"memstrain-launch: target cgroup {re.escape(pod.app.cgroup)} .*\"pids\":\[{pod.app.pid}\]")
        self.expect_verdict(code, out, job, pod.cgroup)

    def test_rendered_v1_unprivileged_inside(self):
        if h.memory_mount()[1] != 1:
            self.skipTest("the --cgroup-version 1 rendering is for cgroup v1 nodes (on v2 an unprivileged container has a "
                          "cgroup namespace of its own and cannot move the stressor: see k8s/README.md)")
        job = render_run_job(1, "inside.json")
        sc = job["spec"]["template"]["spec"]["containers"][0]["securityContext"]
        self.assertEqual((sc["privileged"], sc["capabilities"]), (False, {"drop": ["ALL"], "add": ["SYS_PTRACE"]}))
        code, out = self.run_job(job, "memstrain-ctr-job-v1")
        report = self.expect_verdict(code, out, job, pod.app.cgroup)
        self.assertIsNotNone(report["stages"][2]["target_rss_bytes"]["max"], "SYS_PTRACE: the target's smaps_rollup")


class JournalAndVisibility(JobCase):
    def test_without_a_writable_journal_directory_nothing_is_touched_and_the_message_says_what_to_mount(self):
        job = job_from_manifest()
        spec = job["spec"]["template"]["spec"]
        c = spec["containers"][0]
        # The Job as it was before the journal had a volume of its own.
        c["env"] = [e for e in c["env"] if e["name"] != "MEMSTRAIN_JOURNAL_DIR"]
        c["volumeMounts"] = [m for m in c["volumeMounts"] if m["name"] != "journal"]
        spec["volumes"] = [v for v in spec["volumes"] if v["name"] != "journal"]
        code, out = self.run_job(job, "memstrain-ctr-job-nojournal")
        self.assertEqual(code, 3, out)
        self.assertRegex(h.last_line(out), r"^memstrain: verdict=inconclusive .*status=error .*exit=3 ")
        self.assertIn("write the run journal: journal directory: mkdir /run/memstrain: Read-only file system", out)
        self.assertIn("pass --journal-dir DIR (in a pod: mount a hostPath directory", out)
        report = json.loads((self.reports(job) / "report.json").read_text())
        self.assertEqual(report["stages"], [], "no stage ran")
        self.expect_target_untouched()

    def test_without_the_host_pid_namespace_the_run_refuses_instead_of_passing_blind(self):
        job = job_from_manifest()
        del job["spec"]["template"]["spec"]["hostPID"]
        code, out = self.run_job(job, "memstrain-ctr-job-nohostpid")
        self.assertEqual(code, 3, out)
        self.assertRegex(out, r'"main_pid":null,"pids":\[\]', "locate from the pod's own pid namespace sees no process")
        self.assertRegex(h.last_line(out), r"^memstrain: verdict=inconclusive .*status=error .*exit=3 ")
        self.assertIn("lists no process memstrain can see", out)
        self.assertIn("hostPID: true", out)
        report = json.loads((self.reports(job) / "report.json").read_text())
        self.assertIn("target not visible", report["run"]["error"])
        self.assertEqual(report["stages"], [])
        self.assertEqual(list(self.journal_dir().iterdir()), [], "refused before the journal: nothing to recover")
        self.expect_target_untouched()

    def test_cgroup_only_runs_but_never_passes_silently(self):
        job = job_from_manifest()
        del job["spec"]["template"]["spec"]["hostPID"]

        def accept(plan):
            plan["target"]["attach"]["cgroup_only"] = True
            # The shipped checks that judge what a cgroup shows too (latency) could fail on a busy
            # machine and outrank the verdict under test: kept are the OOM kill and the GC's CPU
            # share, which needs the target's process.
            plan["checks"] = [c for c in plan["checks"] if c["metric"] in ("target.oom_kills", "heap.gc_cpu_fraction")]
            return plan

        stages = {"baseline": 2, "ramp": 2, "hold": 2, "release": 1}
        code, out = self.run_job(job, "memstrain-ctr-job-cgroup-only", stages=stages, plan_edit=accept)
        self.assertIn("target.attach.cgroup_only: watching the cgroup alone", out)
        report = json.loads((self.reports(job) / "report.json").read_text())
        self.assertEqual(report["target"]["observation"], "cgroup-only")
        self.assertIsNone(report["target"]["pid"])
        self.assertIn("target_not_visible", [e["kind"] for e in report["events"]])
        self.assertEqual(report["run"]["status"], "completed")
        # The shipped plans judge the GC's CPU share, which needs the target's process: no data.
        self.assertEqual((code, report["verdict"]), (5, "inconclusive"), out)
        self.assertTrue(any("GC CPU share" in r and "no data" in r for r in report["verdict_reasons"]), report["verdict_reasons"])
        self.expect_target_untouched()


class Recover(JobCase):
    def forget_dead_runs(self):
        """After a failure: what recover should have removed, so that later runs are not refused."""
        for c in h.cgroup_dirs_below(pod.cgroup):
            if "/memstrain-stressor-" in c:
                h.remove_cgroup_tree(c)
        for j in self.journal_dir().glob("*.json"):
            j.unlink()

    def test_a_killed_job_leaves_its_journal_and_the_recover_job_undoes_the_run(self):
        job = job_from_manifest()
        name = "memstrain-ctr-job-killed"
        self.addCleanup(self.forget_dead_runs)
        self.run_job(job, name, stages={"baseline": 1, "ramp": 30, "hold": 30, "release": 1}, detach=True)
        journals = lambda: [p for p in self.journal_dir().glob("*.json")]
        stressor_cgroups = lambda: [c for c in h.cgroup_dirs_below(pod.cgroup) if "/memstrain-stressor-" in c]
        h.wait_until(lambda: journals() and stressor_cgroups(), timeout=60, what="the run's journal and stressor cgroup")
        journal = json.loads(journals()[0].read_text())
        self.assertEqual(journal["cgroups"], stressor_cgroups(), "the journal names what the run created")
        podman("kill", "--signal", "KILL", name)
        h.wait_until(lambda: podman.inspect(name, "{{.State.Status}}") == "exited", what="the killed Job")
        h.wait_until(lambda: not h.read_cgroup(stressor_cgroups()[0], "cgroup.procs").strip(), what="the stressor's death")
        self.assertEqual(len(journals()), 1, "the journal outlives the pod (hostPath)")

        # The next run on the node refuses, and says how to recover from a Job.
        code, out = self.run_job(job_from_manifest(), "memstrain-ctr-job-after-kill")
        self.assertEqual(code, 3, out)
        self.assertIn("died without cleaning up", out)
        self.assertIn("memstrain-launch.sh recover --node NODE", out)

        dry = launcher("render-recover", "--node", NODE, "--dry-run", "--image", IMAGE, "--job-namespace", "memstrain")
        code, out = self.run_job(dry, "memstrain-ctr-recover-dry")
        self.assertEqual(code, 0, out)
        self.assertIn(f"would recover run {journal['run_id']}", out)
        self.assertEqual(len(journals()), 1, "a dry run changes nothing")
        self.assertTrue(stressor_cgroups())

        recover = launcher("render-recover", "--node", NODE, "--image", IMAGE, "--job-namespace", "memstrain")
        self.assertEqual(h.node_of(recover["spec"]["template"]["spec"]), NODE)
        code, out = self.run_job(recover, "memstrain-ctr-recover")
        self.assertEqual(code, 0, out)
        self.assertIn(f"recovering run {journal['run_id']}", out)
        self.assertEqual(journals(), [], "the journal is deleted")
        self.assertEqual(stressor_cgroups(), [], "the run's stressor cgroup is removed")
        self.expect_target_untouched()


if __name__ == "__main__":
    unittest.main()


FAKE_KUBECTL = r"""#!/bin/bash
# Stands in for the API server in the Task's test: answers the launcher from files in /fake that the
# test writes, saves the Job it creates, and holds `logs -f` until the test has run that Job.
d=/fake
printf '%s\n' "$*" >>"$d/calls"
case "$1 $2" in
  "get pods") if [[ $* == *job-name=* ]]; then cat "$d/job-pods.json"; else cat "$d/pods.json"; fi ;;
  "get job") cat "$d/job.json" ;;
  "get configmap") echo "Error from server (NotFound): configmaps \"$3\" not found" >&2; exit 1 ;;
  "create -f") body=$(cat)
               if [[ $body == "{"* ]]; then printf '%s\n' "$body" >"$d/created-configmap.json" && echo "configmap/created"
               else printf '%s\n' "$body" >"$d/created.yaml" && echo "job.batch/created"; fi ;;
  "logs -f") until [[ -e $d/job.done ]]; do sleep 0.2; done; cat "$d/job.log" ;;
  "logs job/"*) cat "$d/job.log" ;;
  "delete job"|"delete configmap") echo "$2 deleted" ;;
  *) echo "fake kubectl: unexpected: $*" >&2; exit 1 ;;
esac
"""


def branch_taken(branches, exit_code, stdout):
    """The first of a Task's conditionalBranches whose expression holds (Chaos Mesh evaluates them
    with expr-lang; this reads the three forms workflow.yaml uses)."""
    for b in branches:
        ok = True
        for term in b["expression"].split("&&"):
            term = term.strip()
            if m := re.fullmatch(r"exitCode (==|!=) (\d+)", term):
                ok &= (exit_code == int(m.group(2))) == (m.group(1) == "==")
            elif m := re.fullmatch(r'stdout matches "(.*)"', term):
                ok &= re.search(m.group(1).encode().decode("unicode_escape"), stdout.strip()) is not None
            else:
                raise AssertionError(f"expression term not understood: {term}")
        if ok:
            return b["target"]
    return None


class WorkflowTask(JobCase):
    """k8s/workflow/workflow.yaml's memory-pressure Task: its container (non-root, no capabilities, a
    projected service account token) runs `memstrain-launch.sh run` in the image; a stand-in kubectl
    plays the API server; the Job the launcher creates is run as a node runs it; the Task ends with
    the Job's exit code and verdict line, stores the result ConfigMap with the report from the Job's
    log, and the Workflow's branch follows from them."""

    def test_the_task_creates_the_job_and_branches_on_its_verdict(self):
        (workflow,) = list(yaml.safe_load_all((h.REPO / "k8s" / "workflow" / "workflow.yaml").read_text()))
        (task,) = [t for t in workflow["spec"]["templates"] if t["name"] == "memory-pressure"]
        container = task["task"]["container"]
        self.assertEqual(container["securityContext"]["runAsUser"], 65532)

        fake = h.STATE / "fake-api"
        fake.mkdir(mode=0o777)
        fake.chmod(0o777)
        (fake / "kubectl").write_text(FAKE_KUBECTL)
        (fake / "kubectl").chmod(0o755)
        pod_json = {
            "metadata": {"name": "demo-target-7f9c", "namespace": "staging", "uid": pod.uid, "labels": {"app": "demo-target"}},
            "spec": {"nodeName": NODE, "containers": [{"name": "demo-target"}]},
            "status": {"phase": "Running", "podIP": "127.0.0.1",
                       "containerStatuses": [{"name": "demo-target", "containerID": "containerd://" + pod.app.id,
                                              "state": {"running": {}}}]},
        }
        (fake / "pods.json").write_text(json.dumps({"kind": "List", "items": [pod_json]}))
        for f in fake.iterdir():
            f.chmod(0o755 if f.name == "kubectl" else 0o644)

        # The Task's pod: its container and volumes; the projected token (with the cluster's CA and
        # the namespace) is the launcher's credential; the default token mount is not needed.
        pod_spec = {"automountServiceAccountToken": False, "containers": [container], "volumes": task["task"]["volumes"]}
        args = h.pod_to_podman(pod_spec, image=IMAGE, node_dir=node_dir, scratch=h.STATE / "jobs" / "task",
                               configmaps={"kube-root-ca.crt": {"ca.crt": "not-a-real-ca"}}, token="not-a-real-token",
                               namespace="memstrain", name="memstrain-ctr-task",
                               extra_mounts=[(fake, "/fake"), (fake / "kubectl", "/usr/local/bin/kubectl")])
        self.addCleanup(podman, "rm", "--force", "--time", "0", "memstrain-ctr-task", check=False)
        task_log = h.STATE / "jobs" / "task" / "container.log"
        podman.start(args, task_log)
        h.wait_until(lambda: (fake / "created.yaml").exists(), timeout=60, what="the Task's Job")
        job = yaml.safe_load((fake / "created.yaml").read_text())
        spec = job["spec"]["template"]["spec"]
        self.assertEqual(h.node_of(spec), NODE)
        self.assertEqual(job["metadata"]["namespace"], "memstrain", "the projected namespace is the Job namespace")
        self.assertTrue(spec["containers"][0]["securityContext"]["privileged"], "no memstrain-settings here: cgroup v2, the default")
        code, out = self.run_job(job, "memstrain-ctr-task-job")
        report = self.expect_verdict(code, out, job, pod.cgroup)
        (fake / "job.log").write_text(out)
        (fake / "job.json").write_text(json.dumps({"status": {"conditions": [{"type": "Complete", "status": "True"}]}}))
        (fake / "job-pods.json").write_text(json.dumps({"items": [{"status": {"containerStatuses": [
            {"name": "memstrain", "state": {"terminated": {"exitCode": code}}}]}}]}))
        (fake / "job.done").write_text("")
        task_code = podman.wait("memstrain-ctr-task", 120)
        task_out = h.cri_log(task_log)
        self.assertEqual(task_code, code, task_out)
        self.assertEqual(h.last_line(task_out), h.last_line(out), "the Task's last line is the Job's verdict line")
        calls = (fake / "calls").read_text()
        self.assertIn("get pods -n staging -l app=demo-target -o json", calls)
        self.assertIn("get configmap memstrain-settings -n memstrain -o json", calls)
        # The result ConfigMap, from the Job's log alone: the verdict line and the report.
        result = json.loads((fake / "created-configmap.json").read_text())
        self.assertEqual(result["metadata"]["name"], "memstrain-result-demo-target")
        self.assertEqual(result["data"]["verdict-line"], h.last_line(out))
        self.assertEqual(json.loads(result["data"]["report.json"])["verdict"], report["verdict"])
        want = {"pass": "verdict-pass", "fail": "verdict-fail"}.get(report["verdict"], "verdict-other")
        self.assertEqual(branch_taken(task["conditionalBranches"], task_code, task_out), want)
