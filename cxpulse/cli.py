"""The ``cxpulse`` command: ``run``, ``simulate``, ``import``, ``archive``, ``comments``,
``check-config``, ``hash-token``."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys

from cxpulse.config import load_config
from stream.access import hash_token
from stream.config import ConfigError


def _cmd_check_config(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    print(f"{args.config}: ok ({len(cfg.locations)} locations, {len(cfg.auth.tokens)} tokens)")
    return 0


def _cmd_hash_token(args: argparse.Namespace) -> int:
    """Read the token from stdin (a prompt without echo on a terminal), never from argv,
    which other users see in ``ps`` and the shell keeps in its history."""
    if sys.stdin.isatty():
        token = getpass.getpass("token: ")
    else:
        token = sys.stdin.readline().rstrip("\r\n")
    if not token:
        print("cxpulse hash-token: no token on stdin", file=sys.stderr)
        return 2
    print(hash_token(token))
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from cxpulse.runner import run

    return run(args)


def _cmd_core(args: argparse.Namespace) -> int:
    from cxpulse.runner import run_core

    return run_core(args)


def _cmd_worker(args: argparse.Namespace) -> int:
    """``cxpulse voice`` / ``cxpulse asr``: a voice or speech-recognition worker process."""
    import asyncio

    from voice.asr_worker import run_asr
    from voice.worker import run_voice

    cfg = load_config(args.config)
    url = args.nats_url or cfg.nats.url or f"nats://{cfg.nats.embedded_host}:{cfg.nats.embedded_port}"
    run = run_voice if args.command == "voice" else run_asr
    asyncio.run(run(cfg, url))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cxpulse", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start NATS (if none configured), core, server, dashboards")
    run.add_argument("--config", default="config.toml")
    run.add_argument("--simulate", metavar="SCENARIO", default=None,
                     help="also run a simulator scenario (e.g. demo)")
    run.add_argument("--no-dashboards", action="store_true")
    run.set_defaults(func=_cmd_run)

    core = sub.add_parser("core", help="run only the streaming core against an existing NATS")
    core.add_argument("--config", default="config.toml")
    core.add_argument("--nats-url", default=None)
    core.set_defaults(func=_cmd_core)

    for name, text in (("voice", "run a voice worker (live microphones: VAD, emotion, encounters)"),
                       ("asr", "run a speech-recognition worker (NATS queue group `asr`)")):
        worker = sub.add_parser(name, help=text)
        worker.add_argument("--config", default="config.toml")
        worker.add_argument("--nats-url", default=None)
        worker.set_defaults(func=_cmd_worker)

    sub.add_parser("simulate", help="publish simulated traffic (see `cxpulse simulate -h`)")

    from cxpulse import archiver, importer, retag  # the archive's: `import`, `archive`, `comments`

    importer.add_parser(sub)
    archiver.add_parser(sub)
    retag.add_parser(sub)

    chk = sub.add_parser("check-config", help="validate a config file and exit")
    chk.add_argument("--config", default="config.toml")
    chk.set_defaults(func=_cmd_check_config)

    tok = sub.add_parser("hash-token", help="print the sha256 to store for a token read "
                                             "from stdin (`cxpulse hash-token < file`)")
    tok.set_defaults(func=_cmd_hash_token)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["simulate"]:
        from cxpulse.simulate import main as simulate_main  # owns its own argument parser

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        try:
            return simulate_main(argv[1:])
        except ConfigError as exc:
            print(f"cxpulse: configuration error: {exc}", file=sys.stderr)
            return 2
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"cxpulse: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
