"""The command line grammar, shared by the CLI and the ``%container`` magic.

One ``argparse`` tree, built once; each subcommand names the function in
:mod:`.commands` that runs it (``set_defaults(func=...)``). Flags and their
help texts follow Docker's.
"""

from __future__ import annotations

import argparse
import re

from ..errors import InvalidArgument

RUN_HELP = "Create and run a new container from an image"
FEATURES = ("build", "registry", "network", "volume", "daemon", "lab", "doctor", "cp")


class UnknownCommand(InvalidArgument):
    """A word that names no (sub)command: ``glassbox frobnicate``."""

    def __init__(self, name: str, prog: str):
        super().__init__(f"'{name}' is not a {prog} command.\nSee '{prog} --help'.")
        self.name = name


class Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so the magics can show errors."""

    def error(self, message):
        bad = re.match(r"argument COMMAND: invalid choice: '(.*)' \(choose from", message)
        if bad:   # the lazily built tree has no choices list to show: say it as docker does
            raise UnknownCommand(bad.group(1), self.prog)
        raise InvalidArgument(f"{self.prog}: {message}\nSee '{self.prog} --help'.")


def _detach_keys_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--detach-keys", metavar="string",
                   help="Override the key sequence for detaching a container")


def _bool(text: str) -> bool:
    """Go's flag booleans: ``--sig-proxy=false``."""
    low = text.lower()
    if low in ("1", "t", "true"):
        return True
    if low in ("0", "f", "false"):
        return False
    raise InvalidArgument(f'invalid argument "{text}": parse error (use true or false)')


def _container_create_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", help="Assign a name to the container")
    p.add_argument("-e", "--env", action="append", default=[], metavar="KEY=VAL",
                   help="Set environment variables")
    p.add_argument("--env-file", action="append", default=[], help="Read in a file of "
                   "environment variables")
    p.add_argument("-w", "--workdir", help="Working directory inside the container")
    p.add_argument("-u", "--user", help="Username or UID (format: <name|uid>[:<group|gid>])")
    p.add_argument("-h", "--hostname", help="Container host name")
    p.add_argument("--entrypoint", help="Overwrite the default ENTRYPOINT of the image")
    p.add_argument("-t", "--tty", action="store_true", help="Allocate a pseudo-TTY")
    p.add_argument("-i", "--interactive", action="store_true",
                   help="Keep STDIN open even if not attached")
    p.add_argument("--rm", action="store_true",
                   help="Automatically remove the container when it exits")
    p.add_argument("-m", "--memory", help="Memory limit (e.g. 64m, 1g)")
    p.add_argument("--memory-swap", help="Swap limit equal to memory plus swap: '-1' to "
                   "enable unlimited swap")
    p.add_argument("--cpus", help="Number of CPUs (e.g. 0.5)")
    p.add_argument("-c", "--cpu-shares", type=int, help="CPU shares (relative weight)")
    p.add_argument("--cpuset-cpus", help="CPUs in which to allow execution (0-3, 0,1)")
    p.add_argument("--cpuset-mems", help="MEMs in which to allow execution (0-3, 0,1)")
    p.add_argument("--pids-limit", type=int, help="Tune container pids limit (-1 for "
                   "unlimited)")
    p.add_argument("--cap-add", action="append", default=[], help="Add Linux capabilities")
    p.add_argument("--cap-drop", action="append", default=[], help="Drop Linux capabilities")
    p.add_argument("--privileged", action="store_true",
                   help="Give extended privileges to this container")
    p.add_argument("--device", action="append", default=[], metavar="HOST[:CONTAINER][:PERMS]",
                   help="Add a host device to the container (PERMS from rwm)")
    p.add_argument("--device-cgroup-rule", action="append", default=[], metavar="RULE",
                   help="Add a rule to the cgroup allowed devices list (e.g. 'c 1:3 rwm')")
    p.add_argument("--security-opt", action="append", default=[], metavar="OPT",
                   help="Security options: no-new-privileges (always on), seccomp=unconfined, "
                        "apparmor=unconfined, label=disable")
    p.add_argument("--init", action="store_true", help="Run an init inside the container "
                   "that forwards signals and reaps processes")
    p.add_argument("--read-only", action="store_true",
                   help="Mount the container's root filesystem as read only")
    p.add_argument("--userns", metavar="MODE", help="User namespace: 'private' (root inside "
                   "is an unprivileged host uid, from root's /etc/subuid range) or 'host'")
    p.add_argument("-l", "--label", action="append", default=[], help="Set meta data on a "
                   "container")
    p.add_argument("-v", "--volume", action="append", default=[], help="Bind mount a volume")
    p.add_argument("--mount", action="append", default=[], help="Attach a filesystem mount "
                   "to the container")
    p.add_argument("--tmpfs", action="append", default=[], help="Mount a tmpfs directory")
    p.add_argument("--volumes-from", action="append", default=[],
                   help="Mount volumes from the specified container(s)")
    p.add_argument("--network", "--net", help="Connect a container to a network")
    p.add_argument("--network-alias", action="append", default=[],
                   help="Add network-scoped alias for the container")
    p.add_argument("--ip", help="IPv4 address on the --network (a user-defined network)")
    p.add_argument("--mac-address", help="Container MAC address (e.g., 92:d0:c6:0a:29:33)")
    p.add_argument("--link", action="append", default=[],
                   help="Add link to another container (NAME[:ALIAS])")
    p.add_argument("-p", "--publish", action="append", default=[],
                   help="Publish a container's port(s) to the host")
    p.add_argument("-P", "--publish-all", action="store_true",
                   help="Publish all exposed ports to random ports")
    p.add_argument("--expose", action="append", default=[], help="Expose a port")
    p.add_argument("--add-host", action="append", default=[], help="Add a custom host-to-IP "
                   "mapping (host:ip); the IP 'host-gateway' is the host as seen from the "
                   "default bridge")
    p.add_argument("--dns", action="append", default=[], help="Set custom DNS servers")
    p.add_argument("--stop-signal", help="Signal to stop the container")
    p.add_argument("--stop-timeout", type=int, help="Timeout (in seconds) to stop a container")
    p.add_argument("--restart", help="Restart policy to apply when a container exits "
                   "(no, always, unless-stopped, on-failure[:max-retries])")
    p.add_argument("--health-cmd", help="Command to run to check health")
    p.add_argument("--health-interval", help="Time between running the check (ms|s|m|h)")
    p.add_argument("--health-timeout", help="Maximum time to allow one check to run (ms|s|m|h)")
    p.add_argument("--health-retries", type=int, help="Consecutive failures needed to report "
                   "unhealthy")
    p.add_argument("--health-start-period", help="Start period for the container to initialize "
                   "before starting health-retries countdown (ms|s|m|h)")
    p.add_argument("--health-start-interval", help="Time between running the check during the "
                   "start period (ms|s|m|h)")
    p.add_argument("--no-healthcheck", action="store_true",
                   help="Disable any container-specified HEALTHCHECK")
    p.add_argument("--pull", choices=["missing", "always", "never"], default="missing",
                   help="Pull image before running")
    p.add_argument("image", help="The image to run")
    p.add_argument("command", nargs=argparse.REMAINDER, help="Command and arguments")


class _Skip(Exception):
    """Raised by the lazy ``cmd`` helper to skip building an unrequested subcommand."""


class _Null:
    """Swallows add_argument/set_defaults calls for subcommands not being built."""

    def __getattr__(self, name):
        return lambda *a, **k: self


#: a full parser built ahead of time (the warm agent does, before it forks)
PREBUILT: "Parser | None" = None


def build_parser(only: str | None = None) -> Parser:
    """The whole tree, or (``only="run"``) just the one subcommand being run:
    building ~60 argparse subparsers costs more than starting a container."""
    root = Parser(prog="glassbox", description="glassbox: a container lab you can watch the "
                  "kernel build. Docker's commands, on real namespaces, cgroups and overlays.")
    root.add_argument("-H", "--host", help="Daemon socket to connect to (unix:///path)")
    root.add_argument("--root", help="State root (default $GLASSBOX_ROOT or /var/lib/glassbox)")
    root.add_argument("-v", "--version", action="store_true", help="Print version and quit")
    sub = root.add_subparsers(dest="cmd", metavar="COMMAND", parser_class=Parser)

    def cmd(name, help, func, aliases=(), add_help=True):
        if only is not None and name != only and only not in aliases:
            return _Null()
        p = sub.add_parser(name, help=help, description=help, aliases=list(aliases),
                           add_help=add_help)
        p.set_defaults(func=func)
        return p

    p = cmd("run", RUN_HELP, "run", add_help=False)
    p.add_argument("--help", action="help", help="Show this help")
    p.add_argument("-d", "--detach", action="store_true",
                   help="Run container in background and print container ID")
    _detach_keys_flag(p)
    _container_create_flags(p)
    p = cmd("create", "Create a new container", "create", add_help=False)
    p.add_argument("--help", action="help", help="Show this help")
    _container_create_flags(p)

    p = cmd("start", "Start one or more stopped containers", "start")
    p.add_argument("-a", "--attach", action="store_true", help="Attach STDOUT/STDERR")
    p.add_argument("-i", "--interactive", action="store_true", help="Attach STDIN")
    _detach_keys_flag(p)
    p.add_argument("containers", nargs="+")

    p = cmd("attach", "Attach local standard input, output, and error streams to a running "
            "container", "attach")
    p.usage = "glassbox attach [OPTIONS] CONTAINER"
    _detach_keys_flag(p)
    p.add_argument("--no-stdin", action="store_true", help="Do not attach STDIN")
    p.add_argument("--sig-proxy", nargs="?", const=True, default=True, type=_bool,
                   metavar="true|false", help="Proxy all received signals to the process "
                   "(default true)")
    p.add_argument("container", metavar="CONTAINER")

    p = cmd("ps", "List containers", "ps")
    p.add_argument("-a", "--all", action="store_true", help="Show all containers")
    p.add_argument("-q", "--quiet", action="store_true", help="Only display container IDs")
    p.add_argument("-f", "--filter", action="append", default=[], help="Filter output "
                   "(status=, name=, id=, label=, ancestor=)")
    p.add_argument("--format", help="'table' (default), 'json', or a Go-like template "
                   "such as '{{.Names}}'")
    p.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    p.add_argument("-n", "--last", type=int, default=-1, help="Show n last created containers")
    p.add_argument("-s", "--size", action="store_true", help="Display total file sizes")

    p = cmd("logs", "Fetch the logs of a container", "logs")
    p.add_argument("-f", "--follow", action="store_true", help="Follow log output")
    p.add_argument("-n", "--tail", default="all", help="Number of lines to show from the end")
    p.add_argument("-t", "--timestamps", action="store_true", help="Show timestamps")
    p.add_argument("container")

    p = cmd("exec", "Execute a command in a running container", "exec", add_help=False)
    p.add_argument("--help", action="help", help="Show this help")
    p.add_argument("-i", "--interactive", action="store_true", help="Keep STDIN open")
    p.add_argument("-t", "--tty", action="store_true", help="Allocate a pseudo-TTY")
    p.add_argument("-d", "--detach", action="store_true", help="Detached mode")
    p.add_argument("-e", "--env", action="append", default=[], help="Set environment variables")
    p.add_argument("-w", "--workdir", help="Working directory inside the container")
    p.add_argument("-u", "--user", help="Username or UID")
    p.add_argument("--privileged", action="store_true", help="Give extended privileges")
    p.add_argument("container")
    p.add_argument("command", nargs=argparse.REMAINDER)

    for name, help, func in (("stop", "Stop one or more running containers", "stop"),
                             ("restart", "Restart one or more containers", "restart")):
        p = cmd(name, help, func)
        p.add_argument("-t", "--time", "--timeout", type=int, dest="time",
                       help="Seconds to wait before killing the container")
        p.add_argument("-s", "--signal", help="Signal to send to the container")
        p.add_argument("containers", nargs="+")

    p = cmd("kill", "Kill one or more running containers", "kill")
    p.add_argument("-s", "--signal", default="KILL", help="Signal to send to the container")
    p.add_argument("containers", nargs="+")

    p = cmd("rm", "Remove one or more containers", "rm")
    p.add_argument("-f", "--force", action="store_true", help="Force the removal of a "
                   "running container (uses SIGKILL)")
    p.add_argument("-v", "--volumes", action="store_true", help="Remove anonymous volumes")
    p.add_argument("containers", nargs="+")

    p = cmd("wait", "Block until containers stop, then print their exit codes", "wait")
    p.add_argument("containers", nargs="+")

    for name, help in (("pause", "Pause all processes within one or more containers"),
                       ("unpause", "Unpause all processes within one or more containers")):
        p = cmd(name, help, name)
        p.add_argument("containers", nargs="+")

    p = cmd("inspect", "Return low-level information on glassbox objects", "inspect")
    p.add_argument("-f", "--format", help="Format the output using a template or 'json'")
    p.add_argument("--type", choices=["container", "image"], help="Only this type of object")
    p.add_argument("names", nargs="+")

    p = cmd("stats", "Display a live stream of container(s) resource usage statistics",
            "stats")
    p.add_argument("-a", "--all", action="store_true", help="Show all containers")
    p.add_argument("--no-stream", action="store_true", help="Print one snapshot and exit")
    p.add_argument("--format", help="'table' or 'json'")
    p.add_argument("containers", nargs="*")

    p = cmd("top", "Display the running processes of a container", "top")
    p.add_argument("container")

    p = cmd("update", "Update configuration of one or more containers", "update")
    p.add_argument("-m", "--memory", help="Memory limit")
    p.add_argument("--memory-swap", help="Swap limit equal to memory plus swap")
    p.add_argument("--cpus", help="Number of CPUs")
    p.add_argument("-c", "--cpu-shares", type=int, help="CPU shares (relative weight)")
    p.add_argument("--cpuset-cpus", help="CPUs in which to allow execution (0-3, 0,1)")
    p.add_argument("--cpuset-mems", help="MEMs in which to allow execution (0-3, 0,1)")
    p.add_argument("--pids-limit", type=int, help="Tune container pids limit")
    p.add_argument("--restart", help="Restart policy to apply when a container exits")
    p.add_argument("containers", nargs="+")

    p = cmd("rename", "Rename a container", "rename")
    p.add_argument("container")
    p.add_argument("new_name")

    p = cmd("container", "Manage containers (prune, ls, ...)", "container_group")
    csub = p.add_subparsers(dest="subcmd", metavar="COMMAND", parser_class=Parser)
    cp = csub.add_parser("prune", help="Remove all stopped containers")
    cp.add_argument("-f", "--force", action="store_true", help="Do not prompt")
    cp.set_defaults(func="container_prune")
    cp = csub.add_parser("ls", help="List containers")
    cp.add_argument("-a", "--all", action="store_true")
    cp.add_argument("-q", "--quiet", action="store_true")
    cp.add_argument("-f", "--filter", action="append", default=[])
    cp.add_argument("--format")
    cp.add_argument("--no-trunc", action="store_true")
    cp.add_argument("-n", "--last", type=int, default=-1)
    cp.add_argument("-s", "--size", action="store_true")
    cp.set_defaults(func="ps")

    # ---- images ----
    p = cmd("images", "List images", "images")
    p.add_argument("-a", "--all", action="store_true", help="Show all images")
    p.add_argument("-q", "--quiet", action="store_true", help="Only show image IDs")
    p.add_argument("--digests", action="store_true", help="Show digests")
    p.add_argument("--no-trunc", action="store_true", help="Don't truncate output")
    p.add_argument("--format", help="'table' or 'json'")
    p.add_argument("reference", nargs="?")

    p = cmd("import", "Import the contents from a tarball to create a filesystem image",
            "import_")
    p.add_argument("-c", "--change", action="append", default=[],
                   help="Apply Dockerfile instruction to the created image")
    p.add_argument("-m", "--message", default="", help="Set commit message for imported image")
    p.add_argument("file", help="Tarball path, or - for stdin")
    p.add_argument("reference", nargs="?")

    p = cmd("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", "tag")
    p.add_argument("source")
    p.add_argument("target")

    p = cmd("rmi", "Remove one or more images", "rmi")
    p.add_argument("-f", "--force", action="store_true", help="Force removal of the image")
    p.add_argument("images", nargs="+")

    p = cmd("history", "Show the history of an image", "history")
    p.add_argument("--no-trunc", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--format")
    p.add_argument("image")

    p = cmd("save", "Save one or more images to a tar archive", "save")
    p.add_argument("-o", "--output", help="Write to a file, instead of STDOUT")
    p.add_argument("--format", choices=["docker", "oci"], default="docker",
                   help="docker-archive (docker save) or OCI image layout")
    p.add_argument("images", nargs="+")

    p = cmd("load", "Load an image from a tar archive or STDIN", "load")
    p.add_argument("-i", "--input", help="Read from tar archive file, instead of STDIN")
    p.add_argument("-q", "--quiet", action="store_true")

    p = cmd("diff", "Inspect changes to files or directories on a container's filesystem",
            "diff")
    p.add_argument("container")

    p = cmd("commit", "Create a new image from a container's changes", "commit")
    p.add_argument("-a", "--author", default="", help="Author")
    p.add_argument("-m", "--message", default="", help="Commit message")
    p.add_argument("-c", "--change", action="append", default=[],
                   help="Apply Dockerfile instruction to the created image")
    p.add_argument("-p", "--pause", action=argparse.BooleanOptionalAction, default=True,
                   help="Pause container during commit (default true)")
    p.add_argument("container")
    p.add_argument("reference", nargs="?")

    p = cmd("image", "Manage images (ls, inspect, rm, prune, ...)", "image_group")
    isub = p.add_subparsers(dest="subcmd", metavar="COMMAND", parser_class=Parser)
    ip = isub.add_parser("inspect", help="Display detailed information on images")
    ip.add_argument("-f", "--format")
    ip.add_argument("names", nargs="+")
    ip.set_defaults(func="image_inspect")
    ip = isub.add_parser("ls", help="List images")
    ip.add_argument("-a", "--all", action="store_true")
    ip.add_argument("-q", "--quiet", action="store_true")
    ip.add_argument("--digests", action="store_true")
    ip.add_argument("--no-trunc", action="store_true")
    ip.add_argument("--format")
    ip.add_argument("reference", nargs="?")
    ip.set_defaults(func="images")
    ip = isub.add_parser("rm", help="Remove images")
    ip.add_argument("-f", "--force", action="store_true")
    ip.add_argument("images", nargs="+")
    ip.set_defaults(func="rmi")
    ip = isub.add_parser("prune", help="Remove unused images")
    ip.add_argument("-a", "--all", action="store_true", help="Remove all unused images, not "
                    "just dangling ones")
    ip.add_argument("-f", "--force", action="store_true")
    ip.set_defaults(func="image_prune")
    ip = isub.add_parser("history", help="Show the history of an image")
    ip.add_argument("--no-trunc", action="store_true")
    ip.add_argument("-q", "--quiet", action="store_true")
    ip.add_argument("--format")
    ip.add_argument("image")
    ip.set_defaults(func="history")

    p = cmd("system", "Manage glassbox (df, check, info)", "system_group")
    ssub = p.add_subparsers(dest="subcmd", metavar="COMMAND", parser_class=Parser)
    sp = ssub.add_parser("df", help="Show disk usage: shared vs unique layers")
    sp.add_argument("-v", "--verbose", action="store_true")
    sp.add_argument("--format")
    sp.set_defaults(func="system_df")
    sp = ssub.add_parser("check", help="Find and repair what a crash left behind")
    sp.set_defaults(func="system_check")
    sp = ssub.add_parser("info", help="Display system-wide information")
    sp.set_defaults(func="info")
    if only in (None, "system"):
        from .cmd_system import register_system
        register_system(ssub)          # setup-user (issue 14)

    cmd("info", "Display system-wide information", "info")
    p = cmd("agent", "Run the warm CLI agent: a fork server that makes every glassbox "
            "command skip Python's start-up (see glassbox.cli.agent)", "agent")
    p.add_argument("action", nargs="?", choices=["run", "start", "stop", "status"],
                   default="run", help="run in the foreground (default), start in the "
                   "background, stop, or status")
    p.add_argument("--idle", type=float, default=600.0,
                   help="exit after this many seconds without a request (default 600)")
    # feature packages add their own subcommands (cli/cmd_<feature>.py: register(cmd, sub))
    import importlib
    for feature in FEATURES:
        try:
            mod = importlib.import_module(f"{__package__}.cmd_{feature}")
        except ModuleNotFoundError as e:
            if e.name != f"{__package__}.cmd_{feature}":
                raise
            continue
        mod.register(cmd, sub)
    p = cmd("version", "Show the glassbox version information", "version")
    p.add_argument("--format")
    return root
