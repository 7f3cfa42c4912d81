"""The ``cxpulse`` command: ``run``, ``core``, ``voice``, ``asr``, ``simulate``, ``import``,
``archive``, ``digest``, ``comments``, ``nats-user``, ``nats-conf``, ``check-config``, ``warm``,
``hash-token``."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from pathlib import Path

from cxpulse.config import load_config
from cxpulse.connections import credentials_text, nats_logins, nats_url_of
from stream.access import hash_token
from stream.config import ConfigError
from stream.nats_io import stream_names
from stream.natsauth import SERVICE_ROLES
from stream.natscreds import CREDENTIALS_FILE, CredentialsError, login_for, prepare_auth


def _cmd_check_config(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    print(f"{args.config}: ok ({len(cfg.locations)} locations, {len(cfg.auth.tokens)} tokens)")
    return 0


def _cmd_warm(args: argparse.Namespace) -> int:
    from cxpulse.warm import warm

    print(f"cxpulse warm: numba kernels ready in {warm(load_config(args.config)):.1f} s")
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
    url = args.nats_url or nats_url_of(cfg)
    run = run_voice if args.command == "voice" else run_asr
    asyncio.run(run(cfg, url, login_for(nats_logins(cfg), args.command)))
    return 0


def _cmd_nats_conf(args: argparse.Namespace) -> int:
    """Write the users of this config for an external nats-server: ``auth.conf`` (bcrypt
    hashes, to include in its config) and ``credentials.json`` (for ``[nats]
    credentials_file``; existing passwords kept)."""
    cfg = load_config(args.config)
    conf, logins = prepare_auth(Path(args.out), cfg.nats.prefix, stream_names(cfg.nats.prefix),
                                [loc.id for loc in cfg.locations])
    print(f"{conf}: include it in the nats-server config (authorization block, {len(logins)} "
          f"users)\n{conf.parent / CREDENTIALS_FILE}: set [nats] credentials_file to it (0600; "
          "hand each machine only the logins it runs)")
    return 0


def _cmd_nats_user(args: argparse.Namespace) -> int:
    """Print a NATS user's credentials (devices, simulators, operators' tools)."""
    cfg = load_config(args.config)
    print(credentials_text(cfg, args.role, args.location))
    return 0


def _add_admin_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The operators' tools: NATS users, config check, cache warm-up, token hashing."""
    user = sub.add_parser("nats-user", help="print the NATS credentials of a user: `device` "
                          "(all locations) or `device --location ID` for terminals and "
                          "simulators, a service, or `admin`")
    user.add_argument("role", choices=[*SERVICE_ROLES, "device", "admin"])
    user.add_argument("--location", default=None, metavar="ID",
                      help="the device user restricted to this configured location")
    user.add_argument("--config", default="config.toml")
    user.set_defaults(func=_cmd_nats_user)

    conf = sub.add_parser("nats-conf", help="write the NATS users of this config for an "
                          "external nats-server (auth.conf + credentials.json in --out)")
    conf.add_argument("--out", required=True, metavar="DIR")
    conf.add_argument("--config", default="config.toml")
    conf.set_defaults(func=_cmd_nats_conf)

    chk = sub.add_parser("check-config", help="validate a config file and exit")
    chk.add_argument("--config", default="config.toml")
    chk.set_defaults(func=_cmd_check_config)

    warm = sub.add_parser("warm", help="compile the numba kernels into their caches (once per "
                                       "install; services and tests then start fast)")
    warm.add_argument("--config", default="config.toml")
    warm.set_defaults(func=_cmd_warm)

    tok = sub.add_parser("hash-token", help="print the sha256 to store for a token read "
                                             "from stdin (`cxpulse hash-token < file`)")
    tok.set_defaults(func=_cmd_hash_token)


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

    # the archive's: `import`, `archive`, `digest`, `comments`
    from cxpulse import archiver, digest, importer, retag

    importer.add_parser(sub)
    archiver.add_parser(sub)
    digest.add_parser(sub)
    retag.add_parser(sub)

    _add_admin_parsers(sub)
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
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # a line per PDF font subset
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"cxpulse: configuration error: {exc}", file=sys.stderr)
        return 2
    except CredentialsError as exc:
        print(f"cxpulse: NATS credentials: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
