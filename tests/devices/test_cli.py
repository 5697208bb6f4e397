"""`taktflow devices` and `taktflow simulate machine` as real processes over a real broker."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from datetime import UTC, datetime

from sqlalchemy import func, select

from taktflow.handlers.devices.models import Device, DeviceAnomaly
from tests.devices.conftest import instance, start_operation, wait_for
from tests.support.server import REPO, cli_env


def test_simulated_machine_drives_the_devices_process_and_nothing_is_lost(plant, broker, database_url, tmp_path):
    op = start_operation(plant, quantity=5)
    env = cli_env(database_url, TAKTFLOW_MQTT_URL=broker.url)
    log = open(tmp_path / "devices.log", "wb")  # noqa: SIM115 - closed below
    devices = subprocess.Popen([sys.executable, "-m", "taktflow.cli", "devices", "--client-id", "cli-test"],
                               env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: b"MQTT connected" in (tmp_path / "devices.log").read_bytes(), timeout=60,
                 what="the devices process to connect")
        host_port = broker.url.removeprefix("mqtt://")
        sim = subprocess.run(
            [sys.executable, "-m", "taktflow.cli", "simulate", "machine", "--device", "CUT-01", "--mqtt", host_port,
             "--topic", "acme/plant1/line1/CUT-01", "--seconds", "3", "--speed", "20", "--ideal-cycle", "0.5",
             "--seed", "7"], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
        assert sim.returncode == 0, sim.stderr
        parts, rejects = map(int, re.search(r"(\d+) parts, (\d+) rejects", sim.stderr).groups())
        assert parts > 20

        def session_device(device_id: str) -> Device:
            with plant.db.read() as session:
                return session.get(Device, device_id)

        def device() -> Device:
            return session_device("CUT-01")

        wait_for(lambda: device().processed_total == parts, timeout=30, what=f"all {parts} parts")
        assert device().defective_total == rejects
        assert instance(plant, op).state == "completed"
        with plant.db.read() as session:
            impossible = session.scalar(select(func.count()).select_from(DeviceAnomaly)
                                        .where(DeviceAnomaly.kind == "impossible_transition"))
        assert impossible == 0  # the simulator's run is a valid PackML run

        # The devices process also watches running jobs: a machine that reports nothing is reported silent.
        plant.clock.set(datetime.now(UTC))  # the job starts on the clock the devices process runs on
        start_operation(plant, "WC-ASSY", "OP-SILENT", quantity=5, silenceSeconds=1)
        wait_for(lambda: session_device("ASSY-01").job_silent_at is not None, timeout=30,
                 what="the watchdog to report ASSY-01 silent")
    finally:
        devices.send_signal(signal.SIGTERM)
        code = devices.wait(timeout=30)
        log.close()
    assert code == 0


def test_simulate_needs_a_transport(tmp_path):
    r = subprocess.run([sys.executable, "-m", "taktflow.cli", "simulate", "machine", "--device", "CUT-01"],
                       env=cli_env(f"sqlite:///{tmp_path}/unused.db"), cwd=REPO, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "give --mqtt HOST:PORT and/or --opcua" in r.stderr
