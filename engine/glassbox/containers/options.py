"""``CreateOptions``: everything ``run``/``create`` can be asked, as one pure value.

The CLI parses flags into it, the Jupyter magics use the same parser, the
daemon maps the Docker API's JSON onto it. Nothing here touches the system.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CreateOptions:
    image: str
    command: list[str] | None = None
    name: str | None = None
    entrypoint: list[str] | None = None
    env: list[str] = field(default_factory=list)
    env_files: list[str] = field(default_factory=list)
    workdir: str | None = None
    user: str | None = None
    hostname: str | None = None
    tty: bool = False
    interactive: bool = False
    auto_remove: bool = False
    memory: int | None = None
    memory_swap: int | None = None
    cpus: float | None = None
    cpu_shares: int | None = None
    pids_limit: int | None = None
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    init: bool = False
    read_only: bool = False
    privileged: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    volumes: list[str] = field(default_factory=list)        # -v specs
    mounts: list[str] = field(default_factory=list)         # --mount specs
    tmpfs: list[str] = field(default_factory=list)          # --tmpfs specs
    volumes_from: list[str] = field(default_factory=list)
    network: str | None = None
    network_aliases: list[str] = field(default_factory=list)
    publish: list[str] = field(default_factory=list)
    publish_all: bool = False
    expose: list[str] = field(default_factory=list)
    add_hosts: list[str] = field(default_factory=list)
    dns: list[str] = field(default_factory=list)
    stop_signal: str | None = None
    stop_timeout: int | None = None
    pull: str = "missing"
