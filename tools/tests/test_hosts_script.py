"""scripts/hosts' pure parts: --netem and up's arguments, CPU pinning, the mpirun settings.

The namespaces themselves (root only) are tested by tests/hosts_test.sh under ctest.
"""

import importlib.machinery
import importlib.util
import os
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(ROOT, "scripts", "hosts")


@pytest.fixture(scope="module")
def hosts():
    loader = importlib.machinery.SourceFileLoader("parbench_hosts", SCRIPT)
    spec = importlib.util.spec_from_loader("parbench_hosts", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_netem_profiles_and_their_quantities(hosts):
    lan = hosts.parse_netem("lan")
    assert (lan["delay"], lan["rate"], lan["delay_s"], lan["rate_bps"]) == \
        ("50us", "10gbit", pytest.approx(50e-6), 1e10)
    wan = hosts.parse_netem("wan")
    assert (wan["delay_s"], wan["rate_bps"]) == (pytest.approx(1e-3), 1e9)
    rate_only = hosts.parse_netem("0,1gbit")
    assert (rate_only["delay_s"], rate_only["rate"]) == (0, "1gbit")
    assert hosts.parse_netem("2ms")["rate"] is None
    assert hosts.parse_netem(None) is None


@pytest.mark.parametrize("bad", ["5x", "0", "50us,10gb", ",1gbit", "fast"])
def test_a_bad_netem_is_refused_as_usage(hosts, bad):
    with pytest.raises(hosts.Refused) as refused:
        hosts.parse_netem(bad)
    assert refused.value.status == 2 and bad in str(refused.value)


def test_up_takes_a_count_options_and_a_command_after_the_separator(hosts):
    count, netem, cpus, slots, cmd = hosts.parse_up(
        ["3", "--netem=0,10gbit", "--cpus", "none", "--slots", "2", "--", "echo", "--cpus"])
    assert (count, netem["rate"], cpus, slots, cmd) == (3, "10gbit", "none", 2, ["echo", "--cpus"])
    assert hosts.parse_up(["2"]) == (2, None, "auto", 1, [])


@pytest.mark.parametrize("args", [["1"], ["x"], [], ["2", "3"], ["2", "--cpus", "some"],
                                  ["2", "--slots", "0"], ["2", "--"], ["2", "--netem"]])
def test_bad_up_arguments_are_refused_as_usage(hosts, args):
    with pytest.raises(hosts.Refused) as refused:
        hosts.parse_up(list(args))
    assert refused.value.status == 2


def test_each_host_gets_its_own_cpu_only_when_there_are_enough(hosts):
    assert hosts.plan_cpus("auto", 2, [3, 1]) == [[1], [3]]
    assert hosts.plan_cpus("auto", 3, [0, 1]) == [[], [], []]
    assert hosts.plan_cpus("none", 2, [0, 1]) == [[], []]


def test_the_plan_names_hosts_addresses_and_the_switch_by_the_prefix(hosts, monkeypatch):
    monkeypatch.setenv("PARBENCH_HOSTS_NAME", "pbx")
    state = hosts.plan(2, None, "none", 1)
    assert [h["name"] for h in state["hosts"]] == ["pbx-host0", "pbx-host1"]
    assert [h["address"] for h in state["hosts"]] == ["10.231.0.1", "10.231.0.2"]
    assert state["switch"] == "pbx-switch" and state["hostfile"].endswith("/pbx/hostfile")
    assert hosts.find_host(state, "1") is state["hosts"][1]
    assert hosts.find_host(state, "pbx-host0") is state["hosts"][0]
    with pytest.raises(hosts.Refused):
        hosts.find_host(state, "2")
    monkeypatch.setenv("PARBENCH_HOSTS_NAME", "Bad-Name")
    with pytest.raises(hosts.Refused):
        hosts.prefix()


def test_mpirun_uses_tcp_on_the_hosts_subnet_only_and_the_agent(hosts, monkeypatch):
    monkeypatch.setenv("PARBENCH_HOSTS_NAME", "pbx")
    state = hosts.plan(2, None, "none", 1)
    cmd = hosts.mpirun_command(state, ["-n", "2", "hostname"])
    settings = dict(zip(cmd[1::2], cmd[2::2]))
    pairs = [(cmd[i + 1], cmd[i + 2]) for i, arg in enumerate(cmd[:-2]) if arg == "--mca"]
    assert dict(pairs) == {"plm_rsh_agent": hosts.AGENT, "plm_rsh_no_tree_spawn": "1",
                           "pml": "ob1", "btl": "tcp,self",
                           "btl_tcp_if_include": "10.231.0.0/24",
                           "oob_tcp_if_include": "10.231.0.0/24",
                           "oob_tcp_keepalive_time": "2", "oob_tcp_keepalive_intvl": "1",
                           "oob_tcp_keepalive_probes": "3"}
    assert settings["--hostfile"] == state["hostfile"] and cmd[-3:] == ["-n", "2", "hostname"]


def test_a_command_runs_in_its_hosts_namespaces_on_its_cpus(hosts, monkeypatch):
    monkeypatch.setenv("PARBENCH_HOSTS_NAME", "pbx")
    host = hosts.plan(2, None, "none", 1)["hosts"][1]
    assert hosts.host_command(host, ["hostname"]) == [
        "ip", "netns", "exec", "pbx-host1", "nsenter", f"--uts={host['uts']}", "hostname"]
    host["cpus"] = [1]
    assert hosts.host_command(host, ["hostname"])[6:] == ["taskset", "-c", "1", "hostname"]


def test_processes_are_found_by_their_namespaces_identity_not_its_name(hosts):
    child = subprocess.Popen(["sleep", "30"])
    try:
        ours = {os.stat(f"/proc/{child.pid}/ns/{kind}").st_ino for kind in ("net", "uts")}
        assert child.pid in hosts.pids_in(ours)
        assert os.getpid() not in hosts.pids_in(ours)  # never the caller itself
        assert hosts.pids_in({1}) == []  # no namespace has inode 1
    finally:
        child.kill()
        child.wait()
