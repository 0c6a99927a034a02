"""What each CLI subcommand does. Each ``cmd_*`` takes the Engine, the parsed
arguments and an output stream, and returns the exit code. The ``%container``
magic calls the same functions."""

from __future__ import annotations

import json
import os
import sys

from ..errors import ContainerExit, GlassboxError, InvalidArgument, NotFound
from .. import present


def _out(args):
    return getattr(args, "_out", None) or sys.stdout


def _print(args, text: str = "") -> None:
    out = _out(args)
    out.write(text + "\n")


def _float(value: str | None, flag: str) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        raise InvalidArgument(f"invalid argument {value!r} for \"{flag}\" flag: not a number") \
            from None


def create_options(args):
    """Map parsed ``run``/``create`` flags onto :class:`CreateOptions`."""
    from ..cgroups.limits import parse_bytes
    from ..containers.options import CreateOptions
    import shlex
    from .flags import client_env, key_values
    labels = key_values(args.label, "label")
    swap = None
    if args.memory_swap is not None:
        swap = -1 if args.memory_swap == "-1" else parse_bytes(args.memory_swap, "--memory-swap")
    return CreateOptions(
        image=args.image, command=args.command or None, name=args.name,
        entrypoint=shlex.split(args.entrypoint) if args.entrypoint is not None else None,
        env=client_env(args.env), env_files=args.env_file, workdir=args.workdir, user=args.user,
        hostname=args.hostname, tty=args.tty, interactive=args.interactive, auto_remove=args.rm,
        memory=parse_bytes(args.memory, "--memory") if args.memory is not None else None,
        memory_swap=swap, cpus=_float(args.cpus, "--cpus"), cpu_shares=args.cpu_shares,
        cpuset_cpus=args.cpuset_cpus, cpuset_mems=args.cpuset_mems,
        mac_address=args.mac_address, links=args.link,
        pids_limit=args.pids_limit, cap_add=args.cap_add, cap_drop=args.cap_drop,
        init=args.init, read_only=args.read_only, privileged=args.privileged,
        userns=args.userns, devices=args.device, device_cgroup_rules=args.device_cgroup_rule,
        security_opt=args.security_opt, labels=labels,
        volumes=args.volume, mounts=args.mount, tmpfs=args.tmpfs,
        volumes_from=args.volumes_from, network=args.network,
        network_aliases=args.network_alias, ip=args.ip, publish=args.publish,
        publish_all=args.publish_all, expose=args.expose, add_hosts=args.add_host,
        dns=args.dns, stop_signal=args.stop_signal, stop_timeout=args.stop_timeout,
        pull=args.pull, restart=args.restart, healthcheck=_healthcheck_flags(args))


def _healthcheck_flags(args):
    """``--health-*`` / ``--no-healthcheck`` -> ``Config.Healthcheck`` (None: not given)."""
    if args.health_cmd is None and not args.no_healthcheck and all(
            v is None for v in (args.health_interval, args.health_timeout, args.health_retries,
                                args.health_start_period, args.health_start_interval)):
        return None                                   # the usual case: spare the import
    from ..containers.health import from_flags
    return from_flags(args.health_cmd, args.health_interval, args.health_timeout,
                      args.health_retries, args.health_start_period, args.health_start_interval,
                      args.no_healthcheck)


# ---- containers -----------------------------------------------------------------
def cmd_run(eng, args) -> int:
    keys = _detach_keys(args)           # a bad --detach-keys: 125 before anything is made
    opts = create_options(args)
    if not getattr(args, "_capture", False):
        eng.ensure_image(opts.image, opts.pull, _pull_view())
        opts.pull = "never"
    if args.detach:
        res = eng.run(opts, detach=True)
        _print(args, res.id)
        return 0
    if getattr(args, "_capture", False):
        out = _out(args)
        res = eng.run(opts, capture=False,
                      on_output=lambda stream, data: out.write(data.decode(errors="replace")))
        return res.exit_code if res.exit_code is not None else 125
    if args.tty and args.interactive:    # the terminal session: detach keys (cli/terminal.py)
        c = eng.create(opts)
        _forward_signals(eng, c.id, args.tty)
        return _tty_session(eng, c.id, keys, forget_on_failure=opts.auto_remove)
    attach_in = 0 if args.interactive else None
    saved = _raw_terminal(args.tty and args.interactive)
    try:
        c = eng.create(opts)
        _forward_signals(eng, c.id, args.tty)
        try:
            started = eng.start(c.id, (attach_in, 1, 2))
        except ContainerExit:
            if opts.auto_remove:
                eng._forget(c.id)
            raise
        msg = started.wait_exit() or {}
    finally:
        _restore_terminal(saved)
    code = msg.get("exit")
    if code is None:
        try:
            code = eng.wait(c.id)
        except NotFound:
            code = 125
    return code


def _detach_keys(args, code: int | None = None) -> bytes:
    """``--detach-keys`` as bytes (Docker's syntax; the default ctrl-p,ctrl-q);
    a bad one is an InvalidArgument (exit ``code`` when given)."""
    from ..containers.detach import parse_detach_keys
    try:
        return parse_detach_keys(getattr(args, "detach_keys", None), "--detach-keys")
    except InvalidArgument as e:
        if code is not None:
            e.exit_code = code
        raise


def _tty_session(eng, cid: str, keys: bytes, forget_on_failure: bool = False) -> int:
    """Start ``cid`` (it has ``-it``) attached to this terminal through pipes of our
    own (:mod:`.terminal`): 0 when the detach keys were typed (the container runs
    on), else the container's exit code."""
    from .terminal import DETACHED, RawTerminal, follow_size, pump
    in_r, in_w = os.pipe2(os.O_CLOEXEC)
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    try:
        with RawTerminal(0):
            try:
                started = eng.start(cid, (in_r, out_w, None))
            except ContainerExit:
                if forget_on_failure:
                    eng._forget(cid)
                raise
            finally:
                os.close(in_r)
                os.close(out_w)
            restore = follow_size(eng, cid)
            try:
                how = pump(keys, in_w, out_r)
            finally:
                restore()
        if how == DETACHED:
            started.detach()   # our pipes close below: the shim lets go, the monitor takes over
            _detached_newline()
            return 0
        msg = started.wait_exit() or {}
    finally:
        os.close(in_w)
        os.close(out_r)
    code = msg.get("exit")
    if code is None:
        try:
            code = eng.wait(cid)
        except NotFound:
            code = 125
    return code


def _detached_newline() -> None:
    """After a detach the shell's prompt is still on the line: start a fresh one."""
    try:
        if os.isatty(1):
            os.write(1, b"\n")
    except OSError:
        pass


def _forward_signals(eng, cid: str, tty: bool) -> None:
    """``--sig-proxy``: Ctrl-C and TERM on the CLI go to the container."""
    import signal

    def forward(signum, _frame):
        try:
            eng.kill(cid, signum)
        except GlassboxError:
            pass
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, forward)


def _raw_terminal(wanted: bool):
    if not wanted or not os.isatty(0):
        return None
    import termios
    import tty
    saved = termios.tcgetattr(0)
    tty.setraw(0)
    return saved


def _restore_terminal(saved) -> None:
    if saved is not None:
        import termios
        termios.tcsetattr(0, termios.TCSADRAIN, saved)


def _pull_view():
    """Pull progress for run/create goes to stderr, as Docker's does."""
    from .cmd_registry import ProgressView
    return ProgressView(sys.stderr)


def cmd_create(eng, args) -> int:
    c = eng.create(create_options(args), progress=_pull_view())
    _print(args, c.id)
    return 0


def cmd_start(eng, args) -> int:
    code = 0
    keys = _detach_keys(args)
    for ref in args.containers:
        if args.attach and args.interactive:
            c = eng.get(ref)
            if c.config["Config"].get("Tty") and c.config["Config"].get("OpenStdin") \
                    and not c.running:
                code = _tty_session(eng, c.id, keys)
                continue
        if args.attach:
            started = eng.start(ref, (0 if args.interactive else None, 1, 2))
            msg = started.wait_exit() or {}
            code = msg.get("exit", 0)
        else:
            eng.start(ref).detach()
            _print(args, ref)
    return code


def cmd_attach(eng, args) -> int:
    """``glassbox attach``: this terminal on a running container — its output (the
    log, followed from now), its input (the stdin FIFO) and, with a TTY, the detach
    keys, which end the attach with 0 and leave it running. Its exit ends the attach
    with its exit code. Docker's words and exit code 1 for a missing or stopped one."""
    import threading
    from .._files import timestamp
    from .terminal import DETACHED, RawTerminal, follow_size, pump
    keys = _detach_keys(args, code=1)
    try:
        c = eng.get(args.container)
    except NotFound as e:
        e.exit_code = 1
        raise
    if c.status == "paused":
        err = GlassboxError("You cannot attach to a paused container, unpause it first")
        err.exit_code = 1
        raise err
    if not c.running:
        err = GlassboxError("You cannot attach to a stopped container, start it first")
        err.exit_code = 1
        raise err
    cfg = c.config["Config"]
    tty = bool(cfg.get("Tty"))
    in_fd = eng.open_stdin(c.id) if cfg.get("OpenStdin") and not args.no_stdin else None
    since = timestamp()
    done_r, done_w = os.pipe2(os.O_CLOEXEC)

    def follow():
        """The log from ``since`` on (a few entries back, filtered by their time:
        what was written while the log was being opened is not lost)."""
        try:
            for stream, text, ts in eng.logs(c.id, follow=True, tail=100):
                if ts < since:
                    continue
                os.write(2 if stream == "stderr" and not tty else 1, text.encode())
        except Exception:  # noqa: BLE001 — the container is gone: the attach ends
            pass
        finally:
            os.write(done_w, b".")
    threading.Thread(target=follow, daemon=True).start()
    if args.sig_proxy and not tty:
        _forward_signals(eng, c.id, tty)
    try:
        with RawTerminal(0, wanted=tty and in_fd is not None):
            restore = follow_size(eng, c.id) if tty else None
            try:
                how = pump(keys if tty else None, in_fd, None, done_fd=done_r)
            finally:
                if restore is not None:
                    restore()
    finally:
        if in_fd is not None:
            os.close(in_fd)
    if how == DETACHED:
        _detached_newline()
        return 0
    try:
        return eng.wait(c.id)
    except NotFound:          # --rm: gone already
        return 0


def cmd_ps(eng, args) -> int:
    filters = present.ps_filters(args.filter)
    rows = present.ps_rows(eng, args.all, filters)
    if args.last and args.last > 0:
        rows = rows[:args.last]
    if args.quiet:
        for r in rows:
            _print(args, r["_full_id"] if args.no_trunc else r["ID"])
        return 0
    if args.format == "json":
        clean = [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]
        if clean:
            _print(args, present.one_json_per_line(clean))
        return 0
    if args.format and args.format != "table":
        for r in rows:
            _print(args, _template(args.format, r))
        return 0
    table = []
    for r in rows:
        cmd = r["Command"]
        if not args.no_trunc and len(cmd) > 22:
            cmd = cmd[:19] + '…"'
        table.append([r["_full_id"] if args.no_trunc else r["ID"], r["Image"], cmd,
                      r["RunningFor"], r["Status"], r["Ports"], r["Names"]])
    _print(args, present.table(["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS",
                            "NAMES"], table))
    return 0


def _template(template: str, row: dict) -> str:
    """A small subset of Go templates: ``{{.Field}}`` and ``{{json .}}``."""
    import re
    if template.strip() in ("{{json .}}", "json"):
        return json.dumps({k: v for k, v in row.items() if not k.startswith("_")})

    def repl(m):
        path = m.group(1).split(".")
        val = row
        for p in path:
            if isinstance(val, dict) and p in val:
                val = val[p]
            else:
                return "<no value>"
        if m.group(0).startswith("{{json"):
            return json.dumps(val)
        return json.dumps(val) if isinstance(val, (dict, list)) else str(val)
    out = re.sub(r"\{\{\s*(?:json\s+)?\.([A-Za-z0-9_.]+)\s*\}\}", repl, template)
    return out.replace("\\t", "\t").replace("\\n", "\n")


def cmd_logs(eng, args) -> int:
    tail = None if args.tail == "all" else int(args.tail)
    out = _out(args)
    stdout_raw = getattr(out, "buffer", None)
    for stream, text, ts in eng.logs(args.container, follow=args.follow, tail=tail):
        line = (ts + " " if args.timestamps else "") + text
        target = out if stream == "stdout" or getattr(args, "_capture", False) else sys.stderr
        target.write(line)
        target.flush()
    del stdout_raw
    return 0


def cmd_exec(eng, args) -> int:
    from .flags import client_env
    if not args.command:
        raise InvalidArgument('"glassbox exec" requires at least 2 arguments: CONTAINER '
                              'COMMAND [ARG...]')
    if getattr(args, "_capture", False):
        import tempfile
        with tempfile.TemporaryFile() as tmp:
            code = eng.exec(args.container, args.command, env=client_env(args.env), workdir=args.workdir,
                            user=args.user, tty=False, interactive=False,
                            privileged=args.privileged, stdio=(0, tmp.fileno(), tmp.fileno()))
            tmp.seek(0)
            _out(args).write(tmp.read().decode(errors="replace"))
        return code
    return eng.exec(args.container, args.command, env=client_env(args.env), workdir=args.workdir,
                    user=args.user, tty=args.tty, interactive=args.interactive,
                    privileged=args.privileged, detach=getattr(args, "detach", False))


def _each(args, refs, action) -> int:
    code = 0
    for ref in refs:
        try:
            action(ref)
            _print(args, ref)
        except GlassboxError as e:
            print(f"Error response from daemon: {e}", file=sys.stderr)
            code = 1
    return code


def cmd_stop(eng, args) -> int:
    return _each(args, args.containers, lambda r: eng.stop(r, args.time))


def cmd_restart(eng, args) -> int:
    return _each(args, args.containers, lambda r: eng.restart(r, args.time))


def cmd_kill(eng, args) -> int:
    return _each(args, args.containers, lambda r: eng.kill(r, args.signal))


def cmd_rm(eng, args) -> int:
    return _each(args, args.containers,
                 lambda r: eng.remove(r, force=args.force, volumes=args.volumes))


def cmd_pause(eng, args) -> int:
    return _each(args, args.containers, eng.pause)


def cmd_unpause(eng, args) -> int:
    return _each(args, args.containers, eng.unpause)


def cmd_wait(eng, args) -> int:
    for ref in args.containers:
        _print(args, str(eng.wait(ref)))
    return 0


def cmd_container_prune(eng, args) -> int:
    removed = eng.container_prune()
    _print(args, "Deleted Containers:")
    for cid in removed:
        _print(args, cid)
    _print(args, "")
    _print(args, f"Total reclaimed space: {len(removed)} containers")
    return 0


def cmd_container_group(eng, args) -> int:
    raise InvalidArgument("usage: glassbox container COMMAND (prune, ls); see --help")


def cmd_inspect(eng, args) -> int:
    docs = []
    for name in args.names:
        doc = None
        if args.type in (None, "container"):
            try:
                doc = eng.get(name).inspect()
            except NotFound:
                if args.type == "container":
                    raise
        if doc is None:
            try:
                doc = eng.image_inspect(name)
            except NotFound:
                raise NotFound(f"No such object: {name}") from None
        docs.append(doc)
    return _emit_docs(args, docs)


def _emit_docs(args, docs) -> int:
    if args.format and args.format != "json":
        for d in docs:
            _print(args, _template(args.format, d))
    else:
        _print(args, present.as_json(docs))
    return 0


def cmd_stats(eng, args) -> int:
    import time
    if args.containers:
        cs = [eng.get(r) for r in args.containers]
    else:
        cs = [c for c in eng.ps(all=args.all) if args.all or c.running]
    first = {c.id: eng.stats(c.id) for c in cs if c.running}
    while True:
        time.sleep(0.5 if args.no_stream else 1.0)
        rows = []
        for c in cs:
            cur = eng.stats(c.id) if c.running else None
            if cur is None:
                rows.append({"ID": c.id[:12], "Name": c.name, "CPUPerc": "0.00%",
                             "MemUsage": "0B / 0B", "MemPerc": "0.00%", "PIDs": "0"})
                continue
            rows.append(present.stats_row(c, cur, first.get(c.id)))
            first[c.id] = cur
        if args.format == "json":
            _print(args, present.one_json_per_line(rows))
        else:
            if not args.no_stream:
                _out(args).write("\x1b[2J\x1b[H")
            _print(args, present.table(["CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT",
                                    "MEM %", "PIDS"],
                                   [[r["ID"], r["Name"], r["CPUPerc"], r["MemUsage"],
                                     r["MemPerc"], r["PIDs"]] for r in rows]))
        if args.no_stream:
            return 0
        _out(args).flush()


def cmd_top(eng, args) -> int:
    top = eng.top(args.container)
    _print(args, present.table(top["Titles"], top["Processes"]))
    return 0


def cmd_update(eng, args) -> int:
    from ..cgroups.limits import parse_bytes
    changes = {
        "memory": parse_bytes(args.memory, "--memory") if args.memory else None,
        "memory_swap": (-1 if args.memory_swap == "-1" else
                        parse_bytes(args.memory_swap, "--memory-swap"))
        if args.memory_swap else None,
        "cpus": _float(args.cpus, "--cpus"), "cpu_shares": args.cpu_shares,
        "pids": args.pids_limit}
    changes.update({k: v for k, v in (("cpuset_cpus", args.cpuset_cpus),
                                      ("cpuset_mems", args.cpuset_mems)) if v})
    if all(v is None for v in changes.values()) and args.restart is None:
        raise InvalidArgument("you must provide one or more flags when using this command")
    if args.restart is not None:
        changes["restart"] = args.restart
    return _each(args, args.containers, lambda r: eng.update(r, **changes))


def cmd_rename(eng, args) -> int:
    eng.rename(args.container, args.new_name)
    return 0


# ---- images ---------------------------------------------------------------------
def cmd_import_(eng, args) -> int:
    if args.file == "-":
        image_id = eng.image_import(sys.stdin.buffer, args.reference, args.change,
                                    args.message)
    else:
        if not os.path.exists(args.file):
            raise NotFound(f"open {args.file}: no such file or directory")
        with open(args.file, "rb") as f:
            image_id = eng.image_import(f, args.reference, args.change, args.message)
    _print(args, image_id)
    return 0


def cmd_images(eng, args) -> int:
    rows = present.image_rows(eng, args.all, args.reference)
    if args.quiet:
        seen = []
        for r in rows:
            v = r["_full_id"] if args.no_trunc else r["ID"]
            if v not in seen:
                seen.append(v)
                _print(args, v)
        return 0
    if args.format == "json":
        if rows:
            _print(args, present.one_json_per_line([{k: v for k, v in r.items()
                                                 if not k.startswith("_")} for r in rows]))
        return 0
    headers = ["REPOSITORY", "TAG"] + (["DIGEST"] if args.digests else []) + \
        ["IMAGE ID", "CREATED", "SIZE"]
    table = [[r["Repository"], r["Tag"]] + ([r["Digest"]] if args.digests else []) +
             [r["_full_id"] if args.no_trunc else r["ID"], r["CreatedSince"], r["Size"]]
             for r in rows]
    _print(args, present.table(headers, table))
    return 0


def cmd_image_group(eng, args) -> int:
    raise InvalidArgument("usage: glassbox image COMMAND (ls, inspect, rm, prune, history)")


def cmd_image_inspect(eng, args) -> int:
    return _emit_docs(args, [eng.image_inspect(n) for n in args.names])


def cmd_tag(eng, args) -> int:
    eng.tag(args.source, args.target)
    return 0


def cmd_rmi(eng, args) -> int:
    code = 0
    for ref in args.images:
        try:
            for item in eng.image_remove(ref, force=args.force):
                for k, v in item.items():
                    _print(args, f"{k}: {v}")
        except GlassboxError as e:
            print(f"Error response from daemon: {e}", file=sys.stderr)
            code = 1
    return code


def cmd_image_prune(eng, args) -> int:
    removed = eng.image_prune(all=args.all)
    _print(args, "Deleted Images:")
    for d in removed:
        _print(args, f"deleted: {d}")
    return 0


def cmd_history(eng, args) -> int:
    rows = eng.image_history(args.image)
    if args.quiet:
        for r in rows:
            _print(args, r.get("Id", "<missing>"))
        return 0
    if args.format == "json":
        _print(args, present.one_json_per_line(rows))
        return 0
    table = []
    for r in rows:
        created_by = r.get("CreatedBy", "")
        if not args.no_trunc and len(created_by) > 45:
            created_by = created_by[:44] + "…"
        iid = r.get("Id", "<missing>")
        if iid.startswith("sha256:") and not args.no_trunc:
            iid = iid[7:19]
        created = r.get("Created")
        if isinstance(created, (int, float)) and created > 0:
            import time
            created_s = present.human_duration(time.time() - created) + " ago"
        else:
            created_s = present.ago(created) if isinstance(created, str) else ""
        table.append([iid, created_s, created_by, present.human_size(r.get("Size", 0)),
                      r.get("Comment", "")])
    _print(args, present.table(["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"], table))
    return 0


def cmd_save(eng, args) -> int:
    if args.output:
        tmp = args.output + ".tmp"
        try:
            with open(tmp, "wb") as f:
                eng.image_save(args.images, f, format=args.format)
            os.replace(tmp, args.output)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return 0
    if os.isatty(1):
        raise InvalidArgument("cowardly refusing to save to a terminal. Use the -o flag or "
                              "redirect")
    eng.image_save(args.images, sys.stdout.buffer, format=args.format)
    return 0


def cmd_load(eng, args) -> int:
    if args.input:
        with open(args.input, "rb") as f:
            loaded = eng.image_load(f)
    else:
        loaded = eng.image_load(sys.stdin.buffer)
    for name in loaded:
        _print(args, f"Loaded image{' ID' if name.startswith('sha256:') else ''}: {name}")
    return 0


def cmd_diff(eng, args) -> int:
    for kind, path in eng.diff(args.container):
        _print(args, f"{kind} {path}")
    return 0


def cmd_commit(eng, args) -> int:
    img = eng.commit(args.container, args.reference, message=args.message, author=args.author,
                     changes=args.change, pause=args.pause)
    _print(args, img.id)
    return 0


# ---- system ---------------------------------------------------------------------
def cmd_system_group(eng, args) -> int:
    raise InvalidArgument("usage: glassbox system COMMAND (df, check, info)")


def cmd_system_df(eng, args) -> int:
    df = eng.system_df()
    if args.format == "json":
        _print(args, json.dumps(df))
        return 0
    _print(args, present.table(["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"],
                           [[r["Type"], str(r["TotalCount"]), str(r["Active"]),
                             present.human_size(r["Size"]), present.human_size(r["Reclaimable"])]
                            for r in df["Summary"]]))
    if args.verbose and df.get("Layers"):
        _print(args, "\nLayers (shared layers are stored once):")
        _print(args, present.table(["LAYER", "SIZE", "USED BY"],
                               [[l["DiffID"][7:19], present.human_size(l["Size"]),
                                 ", ".join(l["Images"])] for l in df["Layers"]]))
    return 0


def cmd_system_check(eng, args) -> int:
    report = eng.system_check()
    for k, v in report.items():
        _print(args, f"{k}: {v}")
    return 0


def cmd_info(eng, args) -> int:
    info = eng.info()
    for k, v in info.items():
        _print(args, f"{k}: {v}")
    return 0


def cmd_version(eng, args) -> int:
    from .. import __version__
    import platform
    v = {"Version": __version__, "ApiVersion": "1.41", "Os": "linux",
         "Arch": platform.machine(), "KernelVersion": platform.release(),
         "Python": platform.python_version()}
    if args.format == "json":
        _print(args, json.dumps(v))
    else:
        _print(args, "glassbox " + __version__)
        for k, val in v.items():
            _print(args, f" {k}:\t{val}")
    return 0


def _answers(path: str) -> bool:
    """Does an agent accept connections on ``path``? (A killed agent's socket file
    stays behind and only refuses: its existence says nothing.)"""
    import socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def cmd_agent(eng, args) -> int:
    """``glassbox agent [run|start|stop|status]``."""
    from . import agent
    path = agent.socket_path(eng.root, create=args.action in ("run", "start"))
    if args.action == "status":
        if _answers(path):
            _print(args, f"agent running on {path}")
            return 0
        _print(args, "agent not running")
        return 1
    if args.action == "stop":
        return 0 if agent.stop_agent(eng.root) else 1
    if args.action == "start":
        import subprocess
        import time
        subprocess.Popen([sys.executable, "-m", "glassbox.cli.main", "--root", eng.root,
                          "agent", "run", "--idle", str(args.idle)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True,
                         env=dict(os.environ, GLASSBOX_AGENT="0"))
        for _ in range(250):
            if _answers(path):
                _print(args, f"agent running on {path}")
                return 0
            time.sleep(0.02)
        raise GlassboxError("the agent did not come up; run `glassbox agent` to see why")
    with open(path + ".pid", "w") as f:
        f.write(str(os.getpid()))
    try:
        agent.serve(eng.root, idle=args.idle)
    finally:
        try:
            os.unlink(path + ".pid")
        except OSError:
            pass
    return 0
