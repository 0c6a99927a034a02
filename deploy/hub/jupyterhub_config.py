"""JupyterHub for one class on one machine, every student a local account running
rootless glassbox (see README.md). Start it as root:

    jupyterhub -f deploy/hub/jupyterhub_config.py

Settings read from the environment (all optional):
  GLASSBOX_HUB_PORT            port on 127.0.0.1 (8000); the hub's own API is on the
                               next port, the proxy's API on the one after
  GLASSBOX_HUB_STATE           where the hub keeps its database and cookie secret
  GLASSBOX_HUB_STUDENTS        comma-separated account names allowed to log in
  GLASSBOX_HUB_TEACHER_TOKEN   API token of the "teacher" service (admin of the class)
  GLASSBOX_STUDENT_MEMORY      memory ceiling per student (1G)
  GLASSBOX_STUDENT_PIDS        pids ceiling per student (1024)
  GLASSBOX_STUDENT_DISK        storage ceiling per student's glassbox state, e.g. 5G
                               (a disk image each, kept in GLASSBOX_HUB_STATE/disks);
                               empty: no ceiling
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
c = get_config()  # noqa: F821 — provided by jupyterhub when it loads this file

state = os.environ.get("GLASSBOX_HUB_STATE", "/var/lib/glassbox-hub")
os.makedirs(state, mode=0o700, exist_ok=True)
venv_bin = os.path.dirname(sys.executable)

c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(os.environ.get("GLASSBOX_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = c.JupyterHub.port + 1
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{c.JupyterHub.port + 2}"
c.JupyterHub.db_url = f"sqlite:///{state}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{state}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = f"{state}/jupyterhub.pid"
c.ConfigurableHTTPProxy.pid_file = f"{state}/proxy.pid"
chp = os.path.join(os.path.dirname(venv_bin), "node", "node_modules", ".bin",
                   "configurable-http-proxy")
if os.path.exists(chp):
    c.ConfigurableHTTPProxy.command = [chp]

# students: local accounts, PAM passwords for people, API tokens for tests
c.Authenticator.allowed_users = {u for u in os.environ.get("GLASSBOX_HUB_STUDENTS", "")
                                 .split(",") if u}
token = os.environ.get("GLASSBOX_HUB_TEACHER_TOKEN")
if token:
    c.JupyterHub.services = [{"name": "teacher", "api_token": token}]
    c.JupyterHub.load_roles = [{"name": "teacher", "services": ["teacher"],
                                "scopes": ["admin:users", "admin:servers", "tokens",
                                           "admin-ui", "list:users", "read:users"]}]

# each student's server: their own uid, their own rootless glassbox and ceiling
c.JupyterHub.spawner_class = "glassbox_spawner.GlassboxSpawner"
c.Spawner.cmd = [os.path.join(venv_bin, "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab/tree/00-quickstart.ipynb"
c.Spawner.notebook_dir = "~/notebooks"
c.Spawner.env_keep = ["PATH", "LANG", "LC_ALL"]
c.Spawner.environment = {"PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin"}
c.Spawner.http_timeout = 60
c.Spawner.start_timeout = 120
c.GlassboxSpawner.glassbox = os.path.join(venv_bin, "glassbox")
c.GlassboxSpawner.student_memory = os.environ.get("GLASSBOX_STUDENT_MEMORY", "1G")
c.GlassboxSpawner.student_pids = int(os.environ.get("GLASSBOX_STUDENT_PIDS", "1024"))
c.GlassboxSpawner.student_disk = os.environ.get("GLASSBOX_STUDENT_DISK", "")
c.GlassboxSpawner.student_disk_dir = os.path.join(state, "disks")
# stopping the hub stops every server (and the spawner removes their containers)
c.JupyterHub.cleanup_servers = True
