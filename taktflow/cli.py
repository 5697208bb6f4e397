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
    serve.add_argument("--no-worker", action="store_true",
                       help="do not fire timers and retries in this process (run `taktflow worker` instead)")

    worker = sub.add_parser("worker", help="fire due timers and retry failed service tasks")
    worker.add_argument("--id", default=None, help="worker id (default: host-pid)")
    worker.add_argument("--poll", type=float, default=1.0, help="seconds between polls when idle")
    worker.add_argument("--once", action="store_true", help="run what is due now, then exit")

    deploy = sub.add_parser("deploy", help="deploy BPMN/DMN files as one deployment")
    deploy.add_argument("files", nargs="+", type=Path)

    token = sub.add_parser("token", help="manage API tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="create a bearer token (printed as the last line)")
    create.add_argument("name")
    create.add_argument("--role", default="worker", help="admin | designer | operator | worker")

    conformance = sub.add_parser("conformance", help="run a conformance suite through the engine")
    conformance_sub = conformance.add_subparsers(dest="suite", required=True)
    betsy = conformance_sub.add_parser("betsy", help="the betsy BPMN execution suite")
    betsy.add_argument("directory", type=Path)

    sub.add_parser("migrate", help="apply database migrations and exit")

    args = parser.parse_args(argv)
    level = logging.INFO if args.command in ("serve", "worker") else logging.WARNING
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
    app = create_app(runtime, embedded_worker=not args.no_worker)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


def _worker(args: argparse.Namespace) -> int:
    from taktflow.bootstrap import boot
    from taktflow.engine.jobs import Worker

    runtime = boot(get_settings(), deploy=False)
    worker = Worker(runtime.engine, args.id or runtime.node_name, poll_seconds=args.poll)
    if args.once:
        print(f"ran {worker.run_once()} jobs")
        return 0
    # Graceful shutdown: finish the job at hand, release the rest of the batch.
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    signal.signal(signal.SIGINT, lambda *_: worker.stop())
    worker.run()
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
        token = engine.command(lambda session: create_token(session, args.name, args.role, engine.clock.now()))
    except ValueError as exc:
        print(f"taktflow token create: {exc}", file=sys.stderr)
        return 2
    print(f"token for {args.name} (role {args.role}); shown once, keep it safe:")
    print(token)
    return 0


def _conformance(args: argparse.Namespace) -> int:
    from taktflow.engine.conformance import betsy_command

    if not args.directory.is_dir():
        print(f"taktflow conformance: {args.directory}: no such directory", file=sys.stderr)
        return 2
    return betsy_command(str(args.directory))


def _migrate(args: argparse.Namespace) -> int:
    from taktflow.engine.store.db import Database
    from taktflow.schema import migrate

    migrate(Database(get_settings().database_url))
    print("schema is current")
    return 0


COMMANDS = {"serve": _serve, "worker": _worker, "deploy": _deploy, "token": _token,
            "conformance": _conformance, "migrate": _migrate}

if __name__ == "__main__":
    sys.exit(main())
