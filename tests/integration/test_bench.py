"""cove-bench's scenarios, small, as correctness tests: every count must be
exact (--check), against the real relay and, for the scenarios that
compare, against a real mosquitto. No timing is asserted: speed is
measured by 'make bench', never here."""

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from cove import BUILD, RELAY, TIMEOUT

BENCH = os.path.join(BUILD, "cove-bench")
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
HERE = os.path.dirname(os.path.abspath(__file__))
BENCH_DIR = os.path.join(HERE, "..", "..", "bench")
INDEP = os.path.join(BENCH_DIR, "indep.py")
MOSQUITTO_CLIENTS = shutil.which("mosquitto_sub") and shutil.which("mosquitto_pub")

# A scenario starts its own relay and nodes: more time than one command.
BENCH_TIMEOUT = max(120.0, TIMEOUT * 6)


def bench(*args):
    """Runs cove-bench with --check; returns its JSON line as a dict."""
    p = subprocess.run([BENCH, "-q", "--check", "--relay", RELAY] + list(args),
                       capture_output=True, text=True, timeout=BENCH_TIMEOUT)
    if p.returncode != 0:
        raise AssertionError("cove-bench %s failed (%d):\n%s%s" % (" ".join(args), p.returncode,
                                                                  p.stdout, p.stderr))
    lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
    if len(lines) != 1:
        raise AssertionError("cove-bench %s printed %d JSON lines:\n%s" % (" ".join(args),
                                                                          len(lines), p.stdout))
    return json.loads(lines[0])


class BenchScenarios(unittest.TestCase):
    def test_ingress_accepts_every_prepared_frame(self):
        r = bench("ingress", "-P", "3", "-n", "200")
        self.assertEqual(r["frames"], 600)
        self.assertEqual(r["accepted"], 600)
        self.assertEqual(r["refused"], 0)
        self.assertGreater(r["verify_per_s_one_core"], 0)

    def test_ingress_on_the_event_loop_accepts_every_frame(self):
        r = bench("ingress", "-P", "2", "-n", "200", "--relay-opt=--verify-threads=0")
        self.assertEqual(r["accepted"], 400)
        self.assertIn("--verify-threads=0", r["relay_opts"])

    def test_fanout_delivers_every_message_to_every_receiver_verified(self):
        r = bench("fanout", "-P", "2", "-S", "3", "-n", "50")
        self.assertEqual(r["messages"], 100)
        self.assertEqual(r["deliveries"], 300)
        self.assertEqual(r["lost"], 0)
        # --check: each receiver verified and decrypted every DAT
        self.assertEqual(r["checked"], 300)
        self.assertEqual(r["bad"], 0)
        # senders hear each other: 2 senders x 50 messages, 1 other each
        self.assertEqual(r["sender_deliveries"], 100)

    def test_latency_counts_every_delivery_once_with_real_nodes(self):
        r = bench("latency", "-m", "3", "-r", "200", "-d", "1")
        self.assertEqual(r["messages"], 200)
        self.assertEqual(r["deliveries"], 600)
        self.assertEqual(r["duplicates"], 0)
        # the first 50 messages are the warm-up and are not sampled
        self.assertEqual(r["samples"], 3 * 150)
        self.assertGreater(r["p99_us"], 0)
        self.assertLessEqual(r["p50_us"], r["p99_us"])
        self.assertLessEqual(r["p99_us"], r["max_us"])
        # the checks' cost, measured beside the window, for the floor
        self.assertGreater(r["sign_us"], 0)
        self.assertGreater(r["verify_us"], 0)

    def test_latency_receivers_spread_over_threads_count_exactly(self):
        # the sender has thread 0 alone; five receivers over threads 1-3
        r = bench("latency", "-m", "5", "-r", "200", "-d", "1", "-t", "4")
        self.assertEqual(r["bench_threads"], 4)
        self.assertEqual(r["deliveries"], 1000)
        self.assertEqual(r["duplicates"], 0)
        self.assertEqual(r["samples"], 5 * 150)

    def test_join_into_an_empty_room_makes_the_joiner_first(self):
        r = bench("join", "-m", "0", "-n", "2")
        self.assertEqual(r["joins"], 2)
        self.assertEqual(r["errors"], 0)

    def test_join_into_a_room_of_real_nodes(self):
        r = bench("join", "-m", "3", "-n", "2")
        self.assertEqual(r["member_kind"], "node")
        self.assertEqual(r["joins"], 2)

    def test_join_into_a_room_of_simulated_members(self):
        r = bench("join", "-m", "60", "-n", "2")
        self.assertEqual(r["member_kind"], "peer")
        self.assertEqual(r["joins"], 2)
        self.assertEqual(r["errors"], 0)

    def test_storm_keys_every_joiner(self):
        r = bench("storm", "-m", "40")
        self.assertEqual(r["keyed"], 40)
        self.assertEqual(r["links_lost"], 0)

    def test_rekey_reaches_every_remaining_member(self):
        r = bench("rekey", "-m", "20", "-n", "2")
        self.assertEqual(r["rekeys"], 2)

    def test_conns_authenticates_every_idle_node(self):
        r = bench("conns", "-c", "60")
        self.assertEqual(r["authenticated"], 60)
        self.assertGreater(r["relay_rss_kib"], 0)

    def test_ingress_with_and_without_the_store_counts_every_frame(self):
        # the relay's SQLite file and --store none in turns: every run exact
        r = bench("--store", "both", "--rounds", "2", "ingress", "-P", "2", "-n", "150")
        self.assertEqual(r["store"], "both")
        self.assertEqual(r["rounds"], 2)
        self.assertEqual(r["frames"], 300)
        for side in ("sqlite", "none"):
            self.assertGreater(r["frames_per_s_" + side], 0)
        self.assertGreater(r["frames_per_s_ratio"], 0)
        self.assertLessEqual(r["frames_per_s_ratio_min"], r["frames_per_s_ratio_max"])
        # the stopped relay's file holds every DAT and each sender's INI
        self.assertEqual(r["store_frames"], 300 + 2)
        self.assertGreaterEqual(r["store_frame_bytes"], 300 * r["frame_bytes"])
        self.assertGreater(r["store_file_bytes"], r["store_frame_bytes"] / 2)
        self.assertGreater(r["store_size_ratio"], 0)

    def test_ingress_with_no_store_has_no_file_to_measure(self):
        r = bench("--store", "none", "ingress", "-P", "2", "-n", "100")
        self.assertEqual(r["store"], "none")
        self.assertEqual(r["accepted"], 200)
        self.assertNotIn("store_file_bytes", r)

    def test_fanout_with_and_without_the_store_delivers_everything(self):
        r = bench("--store", "both", "--rounds", "2", "fanout", "-P", "1", "-S", "3", "-n", "60")
        self.assertEqual(r["receivers"], 3)
        self.assertEqual(r["rounds"], 2)
        self.assertGreater(r["deliveries_per_s_ratio"], 0)

    def test_catchup_shows_every_stored_message_once_to_each_kind_of_member(self):
        # a real cove-node, its core with its history file, the core with
        # its state in memory: each back to 300 messages stored while away
        # (exact counts, no error: the run fails otherwise)
        r = bench("catchup", "-n", "300", "--rounds", "1")
        self.assertEqual(r["messages"], 300)
        for kind in ("node", "core", "memory"):
            self.assertGreater(r["shown_per_s_" + kind], 0, kind)
            self.assertGreater(r["ratio_" + kind], 0, kind)
            self.assertGreater(r["to_upd_s_" + kind], 0, kind)
        self.assertGreater(r["verify_per_s_one_core"], 0)
        self.assertEqual(r["ratio_to_one_core"], r["ratio_node"])
        # 300 DATs and the members' INIs (a join and a return each)
        self.assertGreaterEqual(r["store_frames"], 300)
        self.assertGreaterEqual(r["store_frame_bytes"], 300 * r["frame_bytes"])
        self.assertGreater(r["store_size_ratio"], 1)

    def test_bad_options_are_usage_errors(self):
        for args in (["nosuch"], ["fanout", "-S", "0"], ["--mqtt", "127.0.0.1:1", "join"], [],
                     ["--store", "disk", "ingress"], ["--store", "both", "join"],
                     ["--rounds", "0", "catchup"]):
            p = subprocess.run([BENCH] + args, capture_output=True, text=True, timeout=TIMEOUT)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn("cove-bench", p.stderr)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@unittest.skipUnless(os.path.exists(MOSQUITTO), "mosquitto is not installed (apt-get install mosquitto)")
class BenchAgainstMosquitto(unittest.TestCase):
    """The MQTT client of cove-bench against Debian's mosquitto, started on
    a free loopback port with its own configuration and stopped by PID."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="cove-test-mqtt-")
        cls.port = free_port()
        conf = os.path.join(cls.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    "set_tcp_nodelay true\nmax_queued_messages 0\n" % cls.port)
        cls.log = open(os.path.join(cls.dir, "mosquitto.log"), "w")
        cls.proc = subprocess.Popen([MOSQUITTO, "-c", conf], stdout=cls.log, stderr=cls.log)
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", cls.port), 1).close()
                break
            except OSError:
                if time.monotonic() > deadline or cls.proc.poll() is not None:
                    cls.tearDownClass()
                    raise AssertionError("mosquitto did not start")
                time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        try:
            cls.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            cls.proc.kill()
            cls.proc.wait()
        cls.log.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def mqtt(self, *args):
        return bench("--mqtt", "127.0.0.1:%d" % self.port, "--server-pid", str(self.proc.pid),
                     *args)

    def test_fanout_through_mosquitto_delivers_every_message(self):
        r = self.mqtt("fanout", "-P", "2", "-S", "3", "-n", "50")
        self.assertEqual(r["target"], "mosquitto")
        self.assertEqual(r["deliveries"], 300)
        self.assertEqual(r["lost"], 0)

    def test_mqtt_messages_carry_as_many_bytes_as_coves(self):
        cove = bench("fanout", "-P", "1", "-S", "1", "-n", "10")
        mq = self.mqtt("fanout", "-P", "1", "-S", "1", "-n", "10")
        self.assertEqual(cove["message_bytes"], mq["message_bytes"])

    def test_latency_through_mosquitto_counts_every_delivery(self):
        r = self.mqtt("latency", "-m", "3", "-r", "200", "-d", "1")
        self.assertEqual(r["deliveries"], 600)
        self.assertEqual(r["duplicates"], 0)
        self.assertEqual(r["samples"], 3 * 150)
        self.assertGreater(r["verify_us"], 0)

    def test_latency_through_mosquitto_on_one_thread_counts_every_delivery(self):
        # one thread: the sender and the receivers share a loop
        r = self.mqtt("latency", "-m", "2", "-r", "200", "-d", "1", "-t", "1")
        self.assertEqual(r["deliveries"], 400)
        self.assertEqual(r["duplicates"], 0)

    def test_fanout_through_mosquitto_across_threads_counts_every_delivery(self):
        r = self.mqtt("fanout", "-P", "3", "-S", "5", "-n", "40", "-t", "3")
        self.assertEqual(r["deliveries"], 600)
        self.assertEqual(r["lost"], 0)

    def indep(self, *args):
        p = subprocess.run(["python3", INDEP] + list(args) +
                           ["-p", str(self.port), "--server-pid", str(self.proc.pid)],
                           capture_output=True, text=True, timeout=BENCH_TIMEOUT)
        if p.returncode != 0:
            raise AssertionError("indep.py %s failed (%d):\n%s%s" % (" ".join(args), p.returncode,
                                                                     p.stdout, p.stderr))
        lines = [l for l in p.stdout.splitlines() if l.startswith("{")]
        self.assertEqual(len(lines), 1, p.stdout)
        return json.loads(lines[0])

    @unittest.skipUnless(MOSQUITTO_CLIENTS,
                         "mosquitto-clients is not installed (apt-get install mosquitto-clients)")
    def test_independent_clients_count_latency_deliveries(self):
        r = self.indep("latency", "-m", "2", "-r", "200", "-d", "1", "-l", "x")
        self.assertEqual(r["target"], "mosquitto-clients")
        self.assertEqual(r["label"], "x")
        self.assertEqual(r["messages"], 200)
        self.assertEqual(r["deliveries"] + r["lost"], 400)
        self.assertEqual(r["duplicates"], 0)
        self.assertIn("server_cpu", r)

    def test_epoll_reference_counts_every_latency_delivery(self):
        r = self.indep("latency", "--client", "epoll", "-m", "3", "-r", "200", "-d", "1",
                       "-b", "510")
        self.assertEqual(r["target"], "epoll-ref")
        self.assertEqual(r["message_bytes"], 510)
        self.assertEqual(r["deliveries"], 600)
        self.assertEqual(r["lost"], 0)
        self.assertEqual(r["duplicates"], 0)
        self.assertEqual(r["samples"], 3 * 150)

    @unittest.skipUnless(MOSQUITTO_CLIENTS,
                         "mosquitto-clients is not installed (apt-get install mosquitto-clients)")
    def test_independent_clients_count_fanout_deliveries(self):
        r = self.indep("fanout", "-S", "2", "-n", "300")
        self.assertEqual(r["target"], "mosquitto-clients")
        self.assertEqual(r["deliveries"] + r["lost"], 600)
        self.assertEqual(r["message_bytes"], 509)


def load_report():
    spec = importlib.util.spec_from_file_location("cove_bench_report",
                                                  os.path.join(BENCH_DIR, "report.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class BenchReport(unittest.TestCase):
    """report.py's floors and cross-check from made-up JSON lines: which
    client gives mosquitto's path, and what is added to it."""

    RUNS = [
        {"scenario": "latency", "target": "cove", "label": "l", "p50_us": 300.0,
         "p99_us": 900.0, "verify_us": 40.0},
        {"scenario": "latency", "target": "mosquitto", "label": "l", "p50_us": 100.0,
         "p99_us": 400.0, "verify_us": 60.0},
        {"scenario": "latency", "target": "mosquitto-clients", "label": "l", "p50_us": 150.0,
         "p99_us": 300.0},
        {"scenario": "latency", "target": "epoll-ref", "label": "l", "p50_us": 120.0,
         "p99_us": 500.0},
        {"scenario": "fanout", "target": "mosquitto", "label": "f", "deliveries_per_s": 9.0,
         "server_cpu": 1.0},
        {"scenario": "fanout", "target": "mosquitto-clients", "label": "f",
         "deliveries_per_s": 7.0, "server_cpu": 0.5},
    ]

    def test_floor_is_the_fastest_path_plus_two_checks(self):
        rows = load_report().floor_rows(self.RUNS)
        self.assertEqual(len(rows), 2)
        label, q, path, who, verify, floor, cove, ratio, spread = rows[0]
        self.assertEqual((label, q, path, who), ("l", "p50_us", 100.0, "mosquitto"))
        self.assertEqual(verify, 50.0)  # the mean of the run's measurements
        self.assertEqual(spread, (40.0, 60.0))
        self.assertEqual(floor, 200.0)
        self.assertEqual(ratio, 1.5)
        label, q, path, who, verify, floor, cove, ratio, spread = rows[1]
        self.assertEqual((q, path, who, floor), ("p99_us", 300.0, "mosquitto-clients", 400.0))

    def test_a_check_time_that_moved_is_shown_with_its_spread(self):
        rep = load_report()
        self.assertEqual(rep.check_text(50.0, (40.0, 60.0)), "50 (40-60)")
        self.assertEqual(rep.check_text(36.0, (35.0, 37.0)), "36")

    def test_issue_11_targets_read_the_ratios_of_one_run(self):
        runs = [
            {"scenario": "catchup", "target": "cove", "label": "catchup", "messages": 100000,
             "ratio_to_one_core": 0.6, "ratio_core": 0.65, "ratio_memory": 0.84,
             "store_size_ratio": 1.1, "store_file_bytes": 110, "store_wal_bytes": 0,
             "store_frame_bytes": 100},
            {"scenario": "ingress", "target": "cove", "label": "store ingress", "store": "both",
             "rounds": 3, "frames_per_s_sqlite": 8.5, "frames_per_s_none": 10.0,
             "frames_per_s_ratio": 0.85, "frames_per_s_ratio_min": 0.8,
             "frames_per_s_ratio_max": 0.9},
            {"scenario": "fanout", "target": "cove", "label": "store fanout 1x10",
             "store": "both", "rounds": 3, "deliveries_per_s_ratio": 0.89,
             "deliveries_per_s_ratio_min": 0.85, "deliveries_per_s_ratio_max": 0.95},
        ]
        rep = load_report()
        got = {what: ok for what, val, ok in rep.targets(runs)}
        self.assertIs(got["catch-up of 100,000 stored messages, cove-node >= 0.8 x the one-core "
                          "verify rate"], False)
        self.assertIs(got["ingress with the store >= 0.8 x --store none"], True)
        self.assertIs(got["fanout 1x10 with the store >= 0.9 x --store none"], False)
        self.assertIs(got["store size <= 1.2 x the bytes of its frames"], True)
        # and the run table says each without a field it does not have
        md = rep.markdown(runs)
        self.assertIn("0.85 x (median of 3 rounds)", md)
        self.assertIn("store 1.1 x its frames", md)

    def test_cross_check_pairs_each_client_by_label(self):
        rows = load_report().cross_rows(self.RUNS)
        self.assertIn(("f", "deliveries_per_s", 9.0, 7.0, None), rows)
        self.assertIn(("l", "p50_us", 100.0, 150.0, 120.0), rows)
        self.assertIn(("f", "server_cpu", 1.0, 0.5, None), rows)


if __name__ == "__main__":
    unittest.main()
