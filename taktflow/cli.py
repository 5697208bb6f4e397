"""The `taktflow` command: serve, worker, deploy, token, conformance, migrate."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from taktflow.config import get_settings

DEMO_TOKEN = "tf_demo_admin"  # noqa: S105 - only created by `serve --demo`, documented in README


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="taktflow", description="Taktflow: BPMN process platform for ERP + MES")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web server (REST API, pages)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="seed demo data and a demo admin token")
    serve.add_argument("--simulate-plant", action="store_true",
                       help="with --demo: run the demo machines in-process so the MES screens are live")
    serve.add_argument("--no-worker", action="store_true",
                       help="do not fire timers and retries in this process (run `taktflow worker` instead)")

    worker = sub.add_parser("worker", help="fire due timers and retry failed service tasks")
    worker.add_argument("--id", default=None, help="worker id (default: host-pid)")
    worker.add_argument("--poll", type=float, default=1.0, help="seconds between polls when idle")
    worker.add_argument("--once", action="store_true", help="run what is due now, then exit")
    worker.add_argument("--lock-seconds", type=float, default=300.0,
                        help="how long a claim holds before another worker may take it over")

    deploy = sub.add_parser("deploy", help="deploy BPMN/DMN files as one deployment")
    deploy.add_argument("files", nargs="+", type=Path)

    token = sub.add_parser("token", help="manage API tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="create a bearer token (printed as the last line)")
    create.add_argument("name")
    create.add_argument("--role", default="worker", help="admin | designer | operator | accountant | worker")
    create.add_argument("--group", nargs="+", action="extend", default=[],
                        help="candidate groups whose tasks the token may list, claim and complete (repeatable)")

    user = sub.add_parser("user", help="manage people who log in to the web pages")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    user_create = user_sub.add_parser("create", help="add a user with a password, groups and a role")
    user_create.add_argument("name")
    user_create.add_argument("--password", required=True)
    user_create.add_argument("--group", nargs="+", action="extend", default=[],
                             help="candidate groups whose tasks the user works (repeatable)")
    user_create.add_argument("--role", default="worker", help="admin | designer | operator | accountant | worker")
    user_create.add_argument("--display-name", default=None)

    demo = sub.add_parser("demo", help="seed ERP master data and run sales orders and purchases end to end")
    demo.add_argument("--orders", type=int, default=5, help="order-to-cash runs")
    demo.add_argument("--purchases", type=int, default=2, help="procure-to-pay runs")

    conformance = sub.add_parser("conformance", help="run a conformance suite through the engine")
    conformance_sub = conformance.add_subparsers(dest="suite", required=True)
    betsy = conformance_sub.add_parser("betsy", help="the betsy BPMN execution suite")
    betsy.add_argument("directory", type=Path)
    betsy.add_argument("--json", dest="json_path", default=None, help="write full per-case results to this file")
    betsy.add_argument("--only", default=None, help="run only models whose group/name or path contains this")
    betsy.add_argument("--min-pass-rate", type=float, default=None, help="exit 1 below this fraction of cases passed")
    betsy.add_argument("--min-refused-rate", type=float, default=None,
                       help="exit 1 below this fraction of invalid models refused")

    sub.add_parser("migrate", help="apply database migrations and exit")

    docs = sub.add_parser("docs", help="generated documentation pages")
    docs_sub = docs.add_subparsers(dest="page", required=True)
    support = docs_sub.add_parser("support", help="the BPMN / Camunda support page (docs/bpmn-support.md)")
    support.add_argument("--output", type=Path, default=None, help="write to this file instead of stdout")

    devices = sub.add_parser("devices", help="run the machine-signal adapters (MQTT, Sparkplug B, OPC UA)")
    devices.add_argument("--mqtt", default=None, help="broker URL, e.g. mqtt://127.0.0.1:1883 (default: "
                         "TAKTFLOW_MQTT_URL)")
    devices.add_argument("--client-id", default="taktflow-devices", help="MQTT client id of the persistent session")
    simulate = sub.add_parser("simulate", help="simulated shop-floor equipment")
    simulate_sub = simulate.add_subparsers(dest="equipment", required=True)
    machine = simulate_sub.add_parser("machine", help="a PackML machine over MQTT and/or as an OPC UA server")
    machine.add_argument("--device", required=True, help="device id, e.g. CUT-01")
    machine.add_argument("--mqtt", default=None, help="broker HOST:PORT (or mqtt://HOST:PORT)")
    machine.add_argument("--topic", default=None, help="topic prefix (default taktflow/demo/line1/<device>)")
    machine.add_argument("--sparkplug", default=None, help="publish Sparkplug B as <group>/<edge node>/<device>")
    machine.add_argument("--opcua", action="store_true", help="serve the PackML tags as an OPC UA server")
    machine.add_argument("--opcua-endpoint", default="opc.tcp://127.0.0.1:4840/taktflow/")
    machine.add_argument("--seconds", type=float, default=None, help="stop after this long (default: until stopped)")
    machine.add_argument("--speed", type=float, default=1.0, help="time compression (2 = twice as fast)")
    machine.add_argument("--ideal-cycle", type=float, default=2.0, help="ideal cycle time in seconds")
    machine.add_argument("--seed", type=int, default=None, help="repeatable random run")

    args = parser.parse_args(argv)
    level = logging.INFO if args.command in ("serve", "worker", "devices", "simulate") else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return COMMANDS[args.command](args)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from taktflow.bootstrap import boot
    from taktflow.web.app import create_app

    runtime = boot(get_settings())
    if args.demo:
        from taktflow.demo import seed

        seed(runtime, DEMO_TOKEN)
    plant = None
    if args.demo and args.simulate_plant:
        from taktflow.handlers.devices.demo import DEMO_DEVICES
        from taktflow.handlers.devices.simulator import InProcessPlant

        plant = InProcessPlant(runtime.engine, [(device, cycle) for device, _, _, cycle in DEMO_DEVICES])
        plant.start()
    app = create_app(runtime, embedded_worker=not args.no_worker)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    finally:
        if plant is not None:
            plant.stop()
    return 0


def _worker(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from taktflow.bootstrap import boot
    from taktflow.engine.jobs import Worker
    from taktflow.handlers.devices.watchdog import SilenceWatchdog

    runtime = boot(get_settings(), deploy=False)
    worker = Worker(runtime.engine, args.id or runtime.node_name, poll_seconds=args.poll,
                    lock=timedelta(seconds=args.lock_seconds))
    if args.once:
        print(f"ran {worker.run_once()} jobs")
        return 0
    # Graceful shutdown: finish the job at hand, release the rest of the batch.
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    signal.signal(signal.SIGINT, lambda *_: worker.stop())
    watchdog = SilenceWatchdog(runtime.engine).start()  # machine.silent for running jobs' silent machines
    worker.run()
    watchdog.stop()
    return 0


def _deploy(args: argparse.Namespace) -> int:
    from taktflow.bootstrap import boot
    from taktflow.engine.definitions.service import ModelFile, deploy
    from taktflow.engine.errors import InvalidModel

    files = []
    for path in args.files:
        if not path.is_file():
            print(f"taktflow deploy: {path}: no such file", file=sys.stderr)
            return 2
        files.append(ModelFile(path.name, path.read_bytes()))
    runtime = boot(get_settings(), deploy=False)
    engine = runtime.engine
    try:
        result = engine.command(lambda session: deploy(
            session, files, clock=engine.clock, serializer=engine.serializer, source="cli"
        ))
    except InvalidModel as exc:
        for p in exc.problems:
            print(f"taktflow deploy: {p.file or '-'}: {p.element or '-'}: [{p.rule}] {p.message}", file=sys.stderr)
        return 1
    for w in result.warnings:
        print(f"warning: {w.file or '-'}: {w.element or '-'}: [{w.rule}] {w.message}")
    for d in result.definitions:
        print(f"{d.kind} {d.key} version {d.version} ({'new' if d.new else 'unchanged'})")
    return 0


def _token(args: argparse.Namespace) -> int:
    from taktflow.bootstrap import boot
    from taktflow.web.auth.service import create_token

    runtime = boot(get_settings(), deploy=False)
    engine = runtime.engine
    try:
        token = engine.command(lambda session: create_token(session, args.name, args.role, engine.clock.now(),
                                                            groups=args.group))
    except ValueError as exc:
        print(f"taktflow token create: {exc}", file=sys.stderr)
        return 2
    groups = f", groups {', '.join(sorted(set(args.group)))}" if args.group else ""
    print(f"token for {args.name} (role {args.role}{groups}); shown once, keep it safe:")
    print(token)
    return 0


def _user(args: argparse.Namespace) -> int:
    from taktflow.bootstrap import boot
    from taktflow.web.auth.service import create_user

    runtime = boot(get_settings(), deploy=False)
    engine = runtime.engine
    try:
        engine.command(lambda session: create_user(session, args.name, args.password, args.group, args.role,
                                                   engine.clock.now(), display_name=args.display_name))
    except ValueError as exc:
        print(f"taktflow user create: {exc}", file=sys.stderr)
        return 2
    print(f"user {args.name} created (role {args.role}; groups {', '.join(sorted(set(args.group))) or 'none'})")
    return 0


def _conformance(args: argparse.Namespace) -> int:
    from taktflow.engine.conformance import betsy_command

    if not args.directory.is_dir():
        print(f"taktflow conformance: {args.directory}: no such directory", file=sys.stderr)
        return 2
    return betsy_command(str(args.directory), json_path=args.json_path, only=args.only,
                         min_pass_rate=args.min_pass_rate, min_refused_rate=args.min_refused_rate)


def _devices(args: argparse.Namespace) -> int:
    import asyncio
    import os

    from taktflow.bootstrap import boot
    from taktflow.handlers.devices.runner import run_adapters

    runtime = boot(get_settings(), deploy=False)
    asyncio.run(run_adapters(runtime.engine, args.mqtt or os.environ.get("TAKTFLOW_MQTT_URL"),
                             client_id=args.client_id))
    return 0


def _simulate(args: argparse.Namespace) -> int:
    import asyncio

    from taktflow.handlers.devices.runner import run_simulator

    if not args.mqtt and not args.opcua:
        print("taktflow simulate machine: give --mqtt HOST:PORT and/or --opcua", file=sys.stderr)
        return 2
    asyncio.run(run_simulator(args.device, mqtt_url=args.mqtt, opcua_endpoint=args.opcua_endpoint if args.opcua
                              else None, seconds=args.seconds, topic=args.topic, sparkplug_id=args.sparkplug,
                              speed=args.speed, seed=args.seed, ideal_cycle=args.ideal_cycle))
    return 0


def _docs(args: argparse.Namespace) -> int:
    from taktflow.engine.support import markdown

    text = markdown()
    if args.output is None:
        print(text, end="")
    else:
        args.output.write_text(text)
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from taktflow.engine.store.db import Database
    from taktflow.schema import migrate

    migrate(Database(get_settings().database_url))
    print("schema is current")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from taktflow.bootstrap import boot
    from taktflow.handlers.erp.demo import run_demo

    if args.orders < 0 or args.purchases < 0:
        print("taktflow demo: --orders and --purchases must not be negative", file=sys.stderr)
        return 2
    result = run_demo(boot(get_settings()).engine, orders=args.orders, purchases=args.purchases)
    for name, runs in (("order-to-cash", result.orders), ("procure-to-pay", result.purchases)):
        if runs:
            print(f"{name}: {len(runs)} runs, {sum(runs) / len(runs) * 1000:.0f} ms each on average "
                  f"(min {min(runs) * 1000:.0f}, max {max(runs) * 1000:.0f})")
    print(f"instances completed: {result.completed}; incidents: {len(result.incidents)}; "
          f"trial balance zero: {result.trial_balance_zero}")
    for message in result.incidents[:5]:
        print(f"incident: {message}", file=sys.stderr)
    return 0 if result.trial_balance_zero and not result.incidents else 1


COMMANDS = {"devices": _devices, "simulate": _simulate,
            "serve": _serve, "worker": _worker, "deploy": _deploy, "token": _token, "user": _user,
            "conformance": _conformance, "migrate": _migrate, "demo": _demo, "docs": _docs}

if __name__ == "__main__":
    sys.exit(main())
