# glassbox — two commands for a new user:
#   make lab    set up what is missing, then start JupyterLab on notebooks/
#   make test   set up what is missing, then run the whole test suite
SHELL := /bin/bash
# Debian's python3: a venv made from it is usable by the lab's non-root users too
# (an interpreter under /root, like pyenv's, is not)
PY ?= $(if $(wildcard /usr/bin/python3),/usr/bin/python3,python3)
VENV := .venv
VPY := $(VENV)/bin/python
export GLASSBOX_ROOT ?= /var/lib/glassbox

DEB_PACKAGES := busybox-static iproute2 docker-registry skopeo umoci runc curl apache2-utils \
  python3-venv uidmap nodejs debootstrap
# the clients people point at a Docker socket (notebook 08, the daemon's interop tests);
# installed with a policy-rc.d that refuses service starts: no system dockerd runs
DEB_CLIENTS := docker.io docker-compose

.PHONY: lab test lint setup debs venv base-image browser hub labext bench clean clean-venv

setup: debs venv base-image labext

debs:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "need root to install:$$missing" >&2; exit 1; fi; \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@missing=""; for p in $(DEB_CLIENTS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "need root to install:$$missing" >&2; exit 1; fi; \
	  echo "installing Debian packages (clients; no service is started):$$missing"; \
	  guard=""; [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; guard=1; }; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; rc=$$?; \
	  [ -n "$$guard" ] && rm -f /usr/sbin/policy-rc.d; exit $$rc; \
	fi

$(VPY):
	$(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip

venv: $(VPY)
	@h=$$(sed -n 's/^home = //p' $(VENV)/pyvenv.cfg); want=$$(dirname $$(readlink -f $$(command -v $(PY)))); \
	  if [ "$$h" != "$$want" ]; then echo "venv: remade on $(PY) (usable by non-root users)"; \
	    rm -rf $(VENV) && $(PY) -m venv $(VENV) && $(VPY) -m pip install -q --upgrade pip; fi
	@$(VPY) -c "import glassbox, pytest, pyroute2, aiohttp, docker, ipywidgets, matplotlib, nbclient, isal, mypy, ruff, kubespawner, kubernetes_validate, yaml, pytest_jupyter, testcontainers" 2>/dev/null || \
	  $(VPY) -m pip install -q -e ".[lab,daemon,dev]"
	@$(VPY) -m compileall -q engine/glassbox  # PYTHONDONTWRITEBYTECODE is common: ship the .pyc
	@$(VPY) -c "import glassbox.runtime.monitor as m; m.binary() or m.build()"
	@$(VPY) -c "import glassbox.network.proxy as p; p.binary() or p.build()"
	@$(VPY) -c "import glassbox.probe as p; p.binary() or p.build()"   # the escape corpus (tests/system/test_escape.py)
	@$(VPY) -m glassbox.cli.front >/dev/null  # the C front door of `glassbox` (falls back to Python)

base-image: venv
	@$(VENV)/bin/glassbox image inspect busybox:latest >/dev/null 2>&1 || \
	  $(VPY) -m glassbox.images.busybox | $(VENV)/bin/glassbox import -c 'CMD ["sh"]' - busybox:latest

# the lab's kernels load the glassbox IPython extension (%container, %%dockerfile)
IPY_CFG := $(VENV)/etc/ipython/ipython_config.py

$(IPY_CFG):
	@mkdir -p $(dir $@)
	@echo "c.InteractiveShellApp.extensions = ['glassbox']" > $@

# headless chromium + playwright-core for the browser reality check (tests/browser)
browser:
	@scripts/setup-browser.sh

# the lab panel (labext/ → engine/glassbox/lab/labextension), linked into the venv with its
# server part enabled, as `jupyter labextension develop` would; node from Debian's nodejs
LABEXT := engine/glassbox/lab/labextension/package.json
LABEXT_SRC := labext/package.json labext/yarn.lock labext/tsconfig.json $(wildcard labext/src/*.ts labext/style/*)
$(LABEXT): $(LABEXT_SRC) | venv
	cd labext && PATH=$(abspath $(VENV))/bin:$$PATH jlpm install --immutable >/dev/null && \
	  PATH=$(abspath $(VENV))/bin:$$PATH jlpm build:prod >/dev/null

labext: $(LABEXT)
	@mkdir -p $(VENV)/share/jupyter/labextensions $(VENV)/etc/jupyter/jupyter_server_config.d
	@# pip install -e copies a build into the venv (shared-data): replace that copy by a link to
	@# the live build, or the lab keeps serving the copy made at install time
	@d=$(VENV)/share/jupyter/labextensions/glassbox-lab; [ -L $$d ] || rm -rf $$d; \
	  ln -sfn $(CURDIR)/engine/glassbox/lab/labextension $$d
	@cp labext/jupyter-config/jupyter_server_config.d/glassbox.json $(VENV)/etc/jupyter/jupyter_server_config.d/

# the classroom's JupyterHub (deploy/hub/) routes through configurable-http-proxy, from npm
CHP := $(VENV)/node/node_modules/.bin/configurable-http-proxy
hub: venv
	@[ -x $(CHP) ] || npm install -s --no-audit --no-fund --prefix $(VENV)/node configurable-http-proxy@5 >/dev/null

lab: setup $(IPY_CFG)
	@$(VENV)/bin/glassbox agent start --idle 14400  # warm CLI for the notebooks' `glassbox ...` cells (exits after 4 idle hours)
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --no-browser --allow-root --notebook-dir=notebooks

# lint and type checks first: seconds, before the long suites
lint: venv
	@t=$$(date +%s); $(VENV)/bin/ruff check engine tests bench && $(VENV)/bin/mypy --no-error-summary && \
	  echo "lane lint: $$(( $$(date +%s) - t )) s"

test: setup browser hub lint
	@t=$$(date +%s); $(VPY) -m pytest -q -ra tests; rc=$$?; \
	  echo "lane pytest (unit, system, interop, notebooks, browser): $$(( $$(date +%s) - t )) s"; exit $$rc
	@$(MAKE) --no-print-directory test-v2   # then the cgroup v2 guest lane

bench: setup
	$(VPY) bench/run_latency.py

# the cached root filesystem of the student image's offline base (deploy/kubernetes/local-base.sh)
clean:
	rm -rf $${GLASSBOX_BASE_CACHE:-/var/cache/glassbox/local-base}

clean-venv:
	rm -rf $(VENV)

# cgroup v2 lane: the cgroup system tests inside a QEMU guest whose kernel has only
# cgroup2 (stock Debian kernel, host root over 9p, see tests/v2/README.md)
V2_DEBS := qemu-system-x86 linux-image-amd64 busybox-static
V2_TESTS ?= tests/system/test_cgroups_system.py tests/system/test_devices.py tests/system/test_lifecycle.py \
  tests/system/test_run.py tests/system/test_experiment.py tests/system/test_cpuset.py \
  'tests/notebooks/test_notebooks.py::test_course_notebook[notebooks/en/02-cgroups.ipynb-solved]' \
  $(foreach t,info_says_rootless_and_what_is_available restricted_no_new_privs_uses_a_single_map_and_refuses_limits \
    host_network_devices_and_low_ports_are_refused_clearly user_networks_names_and_published_ports_work_rootless \
    setup_user_delegates_a_v2_subtree_then_limits_work,tests/system/test_rootless.py::test_$(t))
.PHONY: test-v2
test-v2: venv
	@missing=""; for p in $(V2_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "need root to install:$$missing" >&2; exit 1; fi; \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@t=$$(date +%s); scripts/v2/guest.sh env GLASSBOX_ROOT=/tmp/gbx $(VPY) -m pytest -q -ra -p no:cacheprovider $(V2_TESTS); rc=$$?; \
	  echo "lane test-v2 (cgroup v2 guest, $(V2_TESTS)): $$(( $$(date +%s) - t )) s"; exit $$rc
