"""`memstrain locate` and attach runs against containers a real runtime started: the demo target in
a podman container (podman's own cgroup names) and in runc containers at kubelet paths, with
cgroupfs and systemd-style names, Burstable, BestEffort and Guaranteed pods, each with a "pause"
sandbox beside the application. Each container is found by pid, by its id in every form a user
has (bare, a 12-digit prefix, containerd://, cri-o://, docker://, podman's short id) and by its
pod's UID; attach runs put pressure inside and beside it; the container survives and nothing of
the run is left."""

import json
import unittest

import harness as h

MiB = h.MiB


def setUpModule():
    h.memory_mount()  # skips without a memory controller
    h.build_target_rootfs()


def locate(*args):
    p = h.memstrain("locate", *args, "--json")
    if p.returncode != 0:
        raise AssertionError(f"locate {' '.join(args)} exited {p.returncode}: {p.stderr}")
    return json.loads(p.stdout)


class KubeletLayouts(unittest.TestCase):
    """Three pods (runc at kubelet paths) for the whole class: starting them takes ~0.1 s each."""

    LAYOUTS = [  # qos, driver, the runtime's prefix in the container's cgroup name, its runtime field
        ("burstable", "cgroupfs", "", "unknown"),
        ("besteffort", "systemd", "crio-", "cri-o"),
        ("guaranteed", "systemd", "cri-containerd-", "containerd"),
        ("guaranteed", "cgroupfs", "docker-", "docker"),
    ]

    @classmethod
    def setUpClass(cls):
        cls.pods = []
        try:
            for qos, driver, prefix, runtime in cls.LAYOUTS:
                pod = h.Pod(qos, driver, prefix, limit_bytes=192 * MiB if qos != "besteffort" else None)
                cls.pods.append(pod)
                pod.sandbox = pod.run(h.demo_target_args(0, "pause"), name="sandbox")
                pod.port = h.free_port()
                pod.app = pod.run(h.demo_target_args(pod.port), limit_bytes=128 * MiB if qos != "besteffort" else None)
                pod.runtime = runtime
            for pod in cls.pods:
                h.wait_until(lambda: h.http_ok(pod.port), what=f"demo target of {pod.cgroup}")
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for pod in cls.pods:
            pod.delete()
        h.remove_cgroup_tree(h.CGROUP_BASE)

    def expect_app(self, j, pod, runtime=None):
        self.assertEqual(j["cgroup"], pod.app.cgroup)
        self.assertEqual(j["container_id"], pod.app.id)
        self.assertEqual(j["container_runtime"], runtime or pod.runtime)
        self.assertEqual(j["pod_uid"], pod.uid)
        self.assertEqual(j["pod_cgroup"], pod.cgroup)
        self.assertEqual(j["qos_class"], pod.qos)
        self.assertEqual(j["cgroup_driver"], pod.driver)
        self.assertEqual(j["pids"], [pod.app.pid], "the host pid of the container's process")
        self.assertGreater(j["usage_bytes"], 0)
        if pod.qos != "besteffort":
            self.assertEqual(j["effective_limit_bytes"], 128 * MiB)

    def test_by_pid(self):
        for pod in self.pods:
            with self.subTest(pod=pod.cgroup):
                j = locate("--pid", str(pod.app.pid))
                self.expect_app(j, pod)
                self.assertEqual(j["main_pid"], pod.app.pid)

    def test_by_container_id_in_every_form(self):
        schemes = {"containerd://": "containerd", "cri-o://": "cri-o", "docker://": "docker"}
        for pod in self.pods:
            for form in [pod.app.id, pod.app.id[:12], pod.app.id.upper()] + [s + pod.app.id for s in schemes]:
                with self.subTest(pod=pod.cgroup, form=form):
                    scheme = next((s for s in schemes if form.startswith(s)), None)
                    # A bare id in the cgroup's name says nothing of the runtime: the scheme does.
                    want = schemes[scheme] if scheme and pod.runtime == "unknown" else pod.runtime
                    self.expect_app(locate("--container-id", form), pod, want)

    def test_by_pod_uid_picks_the_application_not_the_sandbox(self):
        for pod in self.pods:
            for uid in (pod.uid, pod.uid.replace("-", "_"), "pod" + pod.uid):
                with self.subTest(pod=pod.cgroup, uid=uid):
                    j = locate("--pod-uid", uid)
                    self.expect_app(j, pod)
                    sandboxes = [c for c in j["containers"] if c["sandbox"]]
                    self.assertEqual([c["id"] for c in sandboxes], [pod.sandbox.id], "found by its comm, pause")

    def test_a_missing_container_is_not_found_in_locate_and_exit_3_in_run(self):
        # locate has its own "not found" (9, apart from its run error 3: scripts can tell "no such
        # container" from "could not read the cgroup tree"); run and the launcher say 3,
        # target_not_found, like any run that could not start.
        missing = "containerd://" + "f" * 64
        p = h.memstrain("locate", "--container-id", missing)
        self.assertEqual(p.returncode, 9, p.stderr)
        self.assertIn("no container cgroup with id " + "f" * 64, p.stderr)
        plan = h.STATE / "missing-container.json"
        plan.write_text(json.dumps({"name": "missing", "target": {"attach": {"container_id": missing}},
                                    "stages": [{"name": "s", "duration": "1s"}]}))
        for extra in (["--dry-run"], []):
            with self.subTest(extra=extra):
                p = h.memstrain("run", plan, "--out", h.STATE / "out-missing", *extra)
                self.assertEqual(p.returncode, 3, p.stderr)
                self.assertIn("target not found; nothing was started or changed", p.stderr)
        self.assertFalse((h.STATE / "out-missing").exists(), "nothing was written")

    def attach_run(self, name, attach, pressure, port, pprof=True):
        out = h.STATE / f"out-{name}"
        plan = {
            "name": name,
            "target": {"attach": attach, "probe": {"url": f"http://127.0.0.1:{port}/work", "rate_per_s": 20}},
            "sampling": {"interval": "250ms"},
            "checks": [{"name": "no OOM kill of the target", "metric": "target.oom_kills", "max": 0}],
            "stages": [{"name": "baseline", "duration": "2s"},
                       {"name": "squeeze", "duration": "4s", "pressure": dict(pressure, ramp="2s")},
                       {"name": "release", "duration": "1s"}],
        }
        if pprof:
            plan["target"]["pprof_url"] = f"http://127.0.0.1:{port}/debug/pprof"
        path = h.STATE / f"{name}.json"
        path.write_text(json.dumps(plan))
        p = h.memstrain("run", path, "--out", out, "--cgroup-parent", h.CGROUP_BASE + "/memstrain", "-q", timeout=180)
        report = json.loads((out / "report.json").read_text())
        return p, report

    def expect_clean_pass(self, p, report, container_cgroup, pid):
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertRegex(h.last_line(p.stdout), r"^memstrain: verdict=pass .*cleanup=ok exit=0 ")
        self.assertEqual(report["cgroup"]["target"], container_cgroup)
        self.assertEqual(report["target"]["pid"], pid)
        self.assertEqual(report["target"]["observation"], "processes")
        self.assertIsNotNone(report["target"]["started_unix_ms"], "its start, from /proc of the host pid")
        squeeze = report["stages"][1]
        self.assertGreater(squeeze["pressure"]["reached_bytes"], 16 * MiB)
        self.assertIsNotNone(squeeze["target_rss_bytes"]["max"], "the container's process is sampled")
        self.assertEqual(report["cleanup"]["status"], "ok")

    def test_attach_inside_by_container_id(self):
        pod = self.pods[0]  # burstable, cgroupfs, bare id
        p, report = self.attach_run("inside-ctr", {"container_id": "containerd://" + pod.app.id[:16]},
                                    {"placement": "inside", "size": "48MiB"}, pod.port)
        self.expect_clean_pass(p, report, pod.app.cgroup, pod.app.pid)
        self.assertEqual(report["cgroup"]["measured"], pod.app.cgroup)
        self.expect_container_untouched(pod)

    def test_attach_beside_by_pod_uid(self):
        pod = self.pods[2]  # guaranteed, systemd names, containerd
        p, report = self.attach_run("beside-pod", {"pod_uid": pod.uid}, {"placement": "beside", "level": "70%"}, pod.port)
        self.expect_clean_pass(p, report, pod.app.cgroup, pod.app.pid)
        self.assertEqual(report["cgroup"]["measured"], pod.cgroup, "the stressor competes for the pod's limit")
        self.assertEqual(report["cgroup"]["effective_limit_bytes"], 192 * MiB)
        self.expect_container_untouched(pod)

    def expect_container_untouched(self, pod):
        self.assertTrue(pod.app.running(), "the container survives")
        self.assertTrue(h.http_ok(pod.port))
        self.assertEqual(h.read_cgroup(pod.app.cgroup, "cgroup.procs").split(), [str(pod.app.pid)], "only its own process")
        self.assertEqual(sorted(h.cgroup_dirs_below(pod.cgroup)), sorted([pod.sandbox.cgroup, pod.app.cgroup]),
                         "no stressor cgroup left in the pod")
        self.assertEqual(h.cgroup_dirs_below(h.CGROUP_BASE + "/memstrain"), [], "no run cgroup left")


class PodmanContainer(unittest.TestCase):
    """The demo target as `podman run` starts it (cgroupfs manager: /libpod_parent/libpod-<id>)."""

    @classmethod
    def setUpClass(cls):
        cls.podman = h.Podman()
        cls.image = cls.podman.import_rootfs(h.build_target_rootfs(), "localhost/memstrain-ctr-test-target:latest")
        cls.port = h.free_port()
        cls.name = f"memstrain-ctr-target-{cls.port}"
        cls.podman("run", "-d", "--name", cls.name, "--network", "host", "--memory", str(128 * MiB), cls.image,
                   *h.demo_target_args(cls.port))
        cls.addClassCleanup(cls.podman, "rm", "--force", "--time", "0", cls.name, check=False)
        cls.id = cls.podman.inspect(cls.name, "{{.Id}}")
        cls.pid = int(cls.podman.inspect(cls.name, "{{.State.Pid}}"))
        h.wait_until(lambda: h.http_ok(cls.port), what="the demo target in podman")

    def test_locate_by_pid_and_every_id_form(self):
        short = self.podman("ps", "--filter", f"name={self.name}", "--format", "{{.ID}}").stdout.strip()
        self.assertEqual(len(short), 12, "podman's own short id")
        for args in (["--pid", str(self.pid)], ["--container-id", self.id], ["--container-id", short]):
            with self.subTest(args=args):
                j = locate(*args)
                self.assertRegex(j["cgroup"], rf"/libpod-{self.id}(\.scope)?$")
                self.assertEqual(j["container_id"], self.id)
                self.assertEqual(j["container_runtime"], "podman")
                self.assertIsNone(j["pod_uid"])
                self.assertEqual(j["pids"], [self.pid])
                self.assertEqual(j["effective_limit_bytes"], 128 * MiB)

    def test_attach_inside_by_podman_id(self):
        cgroup = locate("--pid", str(self.pid))["cgroup"]
        out = h.STATE / "out-podman"
        plan = h.STATE / "podman.json"
        plan.write_text(json.dumps({
            "name": "podman-inside",
            "target": {"attach": {"container_id": self.id[:12]}, "pprof_url": f"http://127.0.0.1:{self.port}/debug/pprof"},
            "checks": [{"name": "no OOM kill", "metric": "target.oom_kills", "max": 0}],
            "stages": [{"name": "baseline", "duration": "1s"},
                       {"name": "hold", "duration": "3s", "pressure": {"placement": "inside", "level": "60%"}}],
        }))
        p = h.memstrain("run", plan, "--out", out, "-q", timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        report = json.loads((out / "report.json").read_text())
        self.assertEqual(report["cgroup"]["target"], cgroup)
        self.assertEqual(report["target"]["pid"], self.pid)
        self.assertGreater(report["stages"][1]["pressure"]["reached_bytes"], 32 * MiB)
        self.assertEqual(report["cleanup"]["status"], "ok")
        self.assertEqual(self.podman.inspect(self.name, "{{.State.Status}}"), "running", "the container survives")
        self.assertEqual(h.read_cgroup(cgroup, "cgroup.procs").split(), [str(self.pid)], "the stressor is gone")


if __name__ == "__main__":
    unittest.main()
