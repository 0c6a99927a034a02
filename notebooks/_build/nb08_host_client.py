from common import code, exercise, finish, header, md, notes_vs_kernel, setup, summary

SLUG = "08-docker-host-and-client"

CELLS = [
    *header(
        8, "Docker Host and Docker Client", "Docker Host e Docker Client",
        ["Start the daemon on this host: a process serving the Docker Engine API on a unix socket.",
         "Talk to its API by hand with `curl`.",
         "Use the real `docker` CLI as the client of glassbox's daemon."],
        ["Iniciar o daemon neste host: um processo servindo a API do Docker Engine num socket unix.",
         "Falar com a API à mão, com `curl`.",
         "Usar a CLI `docker` de verdade como cliente do daemon do glassbox."],
        ["daemon"],
        quote_pt="""
Juntando os três principais conceitos do Docker: namespaces, cgroups e file systems,
criou-se o conceito de **Docker Host** que fica rodando um processo que roda em background-
que é uma [*sic*] daemon - disponibilizando uma API que fica trabalhando com o Docker.

Para conseguirmos "falar" com o Docker Host, precisaremos de um **Docker Client**. Toda vez
que no prompt de comando digitarmos `docker <comando>` estaremos então invocando o Docker
Client, que por sua vez irá "falar" com a API disponibilizada pela daemon do Docker.
""",
        quote_en="""
Putting Docker's three main concepts together — namespaces, cgroups and file systems — we
get the **Docker Host**: a process running in the background (a daemon) that offers an API
to work with Docker.

To "talk" to the Docker Host we need a **Docker Client**. Every time we type
`docker <command>` at the prompt we invoke the Docker Client, which in turn "talks" to the
API offered by the Docker daemon.
"""),
    notes_vs_kernel(
        "the **Docker Host** is a process running in the background, a daemon.",
        "The Docker host is the **machine** (or VM) where the containers run: its kernel, "
        "its disks, its image store. The daemon is one process *on* it. In Docker the daemon "
        "is itself a chain: `dockerd` (the API, images, networks) asks `containerd` (container "
        "lifecycle), which starts one `containerd-shim` per container, which runs `runc` to "
        "create the namespaces and cgroups and then exits. glassbox folds that chain: "
        "`glassbox daemon` (the API) and the CLI both call the same `Engine`, which starts one "
        "**shim** per container; the shim sets up the namespaces and cgroup itself and stays "
        "as the container's parent (`gbx-monitor`). The cell after the daemon starts shows "
        "the processes.",
        "o **Docker Host** é um processo rodando em background, um daemon.",
        "O Docker host é a **máquina** (ou VM) onde os containers rodam: o kernel dela, os "
        "discos, o armazenamento de imagens. O daemon é um processo *nela*. No Docker o daemon "
        "é ele mesmo uma cadeia: o `dockerd` (a API, imagens, redes) pede ao `containerd` (o "
        "ciclo de vida dos containers), que inicia um `containerd-shim` por container, que "
        "roda o `runc` para criar os namespaces e cgroups e depois termina. O glassbox junta "
        "essa cadeia: o `glassbox daemon` (a API) e a CLI chamam o mesmo `Engine`, que inicia "
        "um **shim** por container; o shim monta os namespaces e o cgroup ele mesmo e fica "
        "como pai do container (`gbx-monitor`). A célula depois da partida do daemon mostra os "
        "processos."),
    *setup("nb08"),
    md("""
## Start the daemon on this host

`glassbox daemon --socket PATH` serves the Docker Engine API (the same JSON over HTTP that
`dockerd` serves) on a unix socket. It runs in the background, on the same state root as
this notebook: same containers, same images.
""", """
## Iniciar o daemon neste host

`glassbox daemon --socket CAMINHO` serve a API do Docker Engine (o mesmo JSON sobre HTTP
que o `dockerd` serve) num socket unix. Ele roda em segundo plano, no mesmo state root
deste notebook: mesmos containers, mesmas imagens.
"""),
    code('''
import signal, socket
rundir = tempfile.mkdtemp(prefix=P + "-daemon-")
SOCK = os.path.join(rundir, "gb.sock")
daemon_log = open(os.path.join(rundir, "daemon.log"), "w+")
daemon = subprocess.Popen([GB, "daemon", "--socket", SOCK, "--group", ""],
                          stdout=daemon_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
for _ in range(300):
    assert daemon.poll() is None, open(daemon_log.name).read()
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(SOCK)
        break
    except OSError:
        time.sleep(0.05)
print("daemon: pid", daemon.pid, "listening on", SOCK)
''', '''
import signal, socket
rundir = tempfile.mkdtemp(prefix=P + "-daemon-")
SOCK = os.path.join(rundir, "gb.sock")
daemon_log = open(os.path.join(rundir, "daemon.log"), "w+")
daemon = subprocess.Popen([GB, "daemon", "--socket", SOCK, "--group", ""],
                          stdout=daemon_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
for _ in range(300):
    assert daemon.poll() is None, open(daemon_log.name).read()
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(SOCK)
        break
    except OSError:
        time.sleep(0.05)
print("daemon: pid", daemon.pid, "escutando em", SOCK)
'''),
    code('''
# one container, and the processes behind it: on this host, beside the daemon
box = eng.run("busybox", ["sleep", "600"], name=P + "-ptree", detach=True)
shim = eng.containers.get(box.id).state["ShimPid"]
for pid in (daemon.pid, shim, eng.containers.get(box.id).pid):
    comm = open(f"/proc/{pid}/comm").read().strip()
    ppid = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1]
    print(f"pid {pid:>7}  parent {ppid:>7}  {comm}")
_ = eng.containers.remove(box.id, force=True)
'''),
    md("""
## The API, by hand

A client is anything that sends HTTP requests to that socket. `curl --unix-socket` is the
smallest client there is:
""", """
## A API, à mão

Um cliente é qualquer coisa que mande requisições HTTP para esse socket. O
`curl --unix-socket` é o menor cliente que existe:
"""),
    code('''
!curl -s --unix-socket {SOCK} http://localhost/_ping; echo
!curl -s --unix-socket {SOCK} http://localhost/v1.41/version | python3 -m json.tool | head -12
'''),
    code('''
eng.run("busybox", ["sleep", "600"], name=P + "-made-by-the-kernel", detach=True)
!curl -s --unix-socket {SOCK} 'http://localhost/v1.41/containers/json' | python3 -m json.tool | grep -E '"(Id|Names|Image|State)"' -A1 | head -20
!curl -s --unix-socket {SOCK} http://localhost/v1.41/images/json | python3 -c 'import json,sys; [print(i["RepoTags"], i["Id"][:19], i["Size"]) for i in json.load(sys.stdin) if i["RepoTags"]]'
'''),
    md("""
Creating a container over the API is two requests — `POST /containers/create`, then
`POST /containers/{id}/start` — exactly what `docker run -d` sends:
""", """
Criar um container pela API exige duas requisições — `POST /containers/create` e depois
`POST /containers/{id}/start` — exatamente o que o `docker run -d` envia:
"""),
    code('''
import http.client

class UnixHTTP(http.client.HTTPConnection):
    """http.client over a unix socket: the Docker Client in ten lines."""
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(SOCK)

CALLS = []   # a journal of this helper's requests: (method, path, status, body)

def api(method, path, body=None):
    c = UnixHTTP("localhost")
    c.request(method, "/v1.41" + path, json.dumps(body) if body is not None else None,
              {"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    data = json.loads(data) if data.strip().startswith(b"{") or data.strip().startswith(b"[") else data
    CALLS.append((method, path, r.status, data))
    return r.status, data

status, created = api("POST", f"/containers/create?name={P}-via-api", {"Image": "busybox", "Cmd": ["sleep", "600"]})
print("create:", status, created)
print("start :", api("POST", f"/containers/{created['Id']}/start")[0])
!{GB} ps --filter name={P}-via-api
'''),
    md("""
## The `docker` CLI as the client

The real Docker Client (the `docker` command; `make setup` installs Debian's `docker.io` without starting its daemon) only needs to be told where the host is:
`DOCKER_HOST=unix://<socket>`. Every command below is answered by glassbox's daemon.
""", """
## A CLI `docker` como cliente

O Docker Client de verdade (o comando `docker`; o `make setup` instala o `docker.io` do Debian sem iniciar o daemon dele) só precisa saber onde o host está:
`DOCKER_HOST=unix://<socket>`. Cada comando abaixo é respondido pelo daemon do glassbox.
"""),
    code('''
DOCKER = shutil.which("docker") or "/usr/local/bin/docker"
denv = dict(os.environ, DOCKER_HOST="unix://" + SOCK, DOCKER_CONFIG=os.path.join(rundir, "docker-config"))

def docker(*args):
    if not os.path.exists(DOCKER):
        return print("(the docker CLI is not installed here; curl above spoke the same API)")
    p = subprocess.run([DOCKER, *args], env=denv, capture_output=True, text=True, timeout=60)
    print(f"$ docker {' '.join(args)}\\n{p.stdout}{p.stderr}", end="")

docker("version", "--format", "client {{.Client.Version}} → server {{.Server.Version}} ({{.Server.Os}}/{{.Server.Arch}})")
docker("ps")
docker("images", "busybox")
docker("run", "--rm", "busybox", "echo", "hi from docker run, via glassbox")
''', '''
DOCKER = shutil.which("docker") or "/usr/local/bin/docker"
denv = dict(os.environ, DOCKER_HOST="unix://" + SOCK, DOCKER_CONFIG=os.path.join(rundir, "docker-config"))

def docker(*args):
    if not os.path.exists(DOCKER):
        return print("(a CLI docker não está instalada aqui; o curl acima falou a mesma API)")
    p = subprocess.run([DOCKER, *args], env=denv, capture_output=True, text=True, timeout=60)
    print(f"$ docker {' '.join(args)}\\n{p.stdout}{p.stderr}", end="")

docker("version", "--format", "client {{.Client.Version}} → server {{.Server.Version}} ({{.Server.Os}}/{{.Server.Arch}})")
docker("ps")
docker("images", "busybox")
docker("run", "--rm", "busybox", "echo", "oi do docker run, via glassbox")
'''),
    md("""
One host, many clients: a container started by `docker` is seen by `glassbox`, and the
other way round — they share the state, because they share the host.
""", """
Um host, vários clientes: um container iniciado pelo `docker` é visto pelo `glassbox`, e
vice-versa — eles compartilham o estado, porque compartilham o host.
"""),
    code('''
docker("run", "-d", "--name", P + "-from-docker", "busybox", "sleep", "600")
!{GB} ps --filter name={P}
'''),
    md("""
The notes' *Docker Host & Client* picture, from live state: the clients we used, the
daemon process and its socket, and what the host holds right now.
""", """
A figura *Docker Host & Client* das notas, a partir do estado ao vivo: os clientes que
usamos, o processo do daemon e o socket dele, e o que o host guarda agora.
"""),
    code('''
%matplotlib inline
import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch
_, cs = api("GET", "/containers/json?all=1")
_, ims = api("GET", "/images/json")
ims = [i for i in ims if i["RepoTags"]]
fig, ax = plt.subplots(figsize=(10, 3.8))
clients = ["docker CLI", "curl", "http.client (this notebook)"]
for i, c in enumerate(clients):
    ax.text(0.02, 0.78 - i * 0.25, c, fontsize=9, bbox=dict(fc="#e8f0fe", ec="#4a6fa5", boxstyle="round"))
    ax.annotate("", (0.36, 0.5), (0.24, 0.8 - i * 0.25), arrowprops=dict(arrowstyle="->", color="#4a6fa5"))
ax.text(0.3, 0.95, "Docker Client", weight="bold", fontsize=10, ha="center")
ax.add_patch(FancyBboxPatch((0.37, 0.05), 0.6, 0.85, boxstyle="round,pad=0.01", fc="#fff4d6", ec="#c99a2e"))
ax.text(0.39, 0.82, f"Docker Host = this machine · its daemon: glassbox, pid {daemon.pid}", weight="bold", fontsize=10)
ax.text(0.39, 0.74, f"API on unix://{SOCK}", family="monospace", fontsize=7.5)
ax.text(0.39, 0.6, f"containers ({len(cs)}):", fontsize=9)
for j, c in enumerate(cs[:4]):
    ax.text(0.42, 0.52 - j * 0.08, f"{c['Names'][0][1:]}  {c['State']}", family="monospace", fontsize=8)
ax.text(0.72, 0.6, f"images / cache ({len(ims)}):", fontsize=9)
for j, im in enumerate(ims[:4]):
    ax.text(0.74, 0.52 - j * 0.08, ", ".join(im["RepoTags"] or ["<none>"])[:24], family="monospace", fontsize=8)
ax.text(0.39, 0.1, "namespaces · cgroups · overlay · volumes · networks", fontsize=8, style="italic")
ax.set_xlim(0, 1); ax.set_ylim(0, 1); ax.set_axis_off()
plt.show()
''', '''
%matplotlib inline
import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch
_, cs = api("GET", "/containers/json?all=1")
_, ims = api("GET", "/images/json")
ims = [i for i in ims if i["RepoTags"]]
fig, ax = plt.subplots(figsize=(10, 3.8))
clients = ["docker CLI", "curl", "http.client (this notebook)"]
for i, c in enumerate(clients):
    ax.text(0.02, 0.78 - i * 0.25, c, fontsize=9, bbox=dict(fc="#e8f0fe", ec="#4a6fa5", boxstyle="round"))
    ax.annotate("", (0.36, 0.5), (0.24, 0.8 - i * 0.25), arrowprops=dict(arrowstyle="->", color="#4a6fa5"))
ax.text(0.3, 0.95, "Docker Client", weight="bold", fontsize=10, ha="center")
ax.add_patch(FancyBboxPatch((0.37, 0.05), 0.6, 0.85, boxstyle="round,pad=0.01", fc="#fff4d6", ec="#c99a2e"))
ax.text(0.39, 0.82, f"Docker Host = esta máquina · o daemon dela: glassbox, pid {daemon.pid}", weight="bold", fontsize=10)
ax.text(0.39, 0.74, f"API em unix://{SOCK}", family="monospace", fontsize=7.5)
ax.text(0.39, 0.6, f"containers ({len(cs)}):", fontsize=9)
for j, c in enumerate(cs[:4]):
    ax.text(0.42, 0.52 - j * 0.08, f"{c['Names'][0][1:]}  {c['State']}", family="monospace", fontsize=8)
ax.text(0.72, 0.6, f"imagens / cache ({len(ims)}):", fontsize=9)
for j, im in enumerate(ims[:4]):
    ax.text(0.74, 0.52 - j * 0.08, ", ".join(im["RepoTags"] or ["<none>"])[:24], family="monospace", fontsize=8)
ax.text(0.39, 0.1, "namespaces · cgroups · overlay · volumes · networks", fontsize=8, style="italic")
ax.set_xlim(0, 1); ax.set_ylim(0, 1); ax.set_axis_off()
plt.show()
'''),
    *exercise(
        "Using the API through the `api()` helper (it keeps a journal of its requests, "
        "`CALLS`, which the check reads), find the **Id** of the container named "
        "`nb08-from-docker` and put it in `answer`. Hint: "
        "`GET /containers/json?all=1` or `GET /containers/<name>/json`.",
        "Usando a API pelo helper `api()` (ele guarda um diário das suas requisições, "
        "`CALLS`, que a verificação lê), encontre o **Id** do container chamado "
        "`nb08-from-docker` e coloque-o em `answer`. Dica: "
        "`GET /containers/json?all=1` ou `GET /containers/<nome>/json`.",
        attempt='''
START = len(CALLS)   # the check reads the api() requests sent from here on
answer = None        # your code here
''',
        check_fn='''
def check_08():
    """The Id must be right *and* have come back from a request you sent to the daemon."""
    try:
        want = eng.containers.get(P + "-from-docker").id
    except NotFound:
        return check(False, "", f"there is no container {P}-from-docker: the `docker run` cell "
                     "above did not make it (look at its output: is the docker CLI installed?)")
    if not isinstance(answer, str) or not answer:
        return check(False, "", "answer should be the container's Id (a str of 64 hex digits)")
    if answer != want:
        return check(False, "", "close, but not the full Id (64 hex digits)" if want.startswith(answer)
                     else f"{answer[:12]!r} is not the Id of {P}-from-docker")
    asked = [f"{m} {p}" for m, p, status, body in CALLS[globals().get("START", len(CALLS)):]
             if status == 200 and want in json.dumps(body, default=str)]
    check(asked, f"that is the Id the daemon gave the container docker started (you asked: {asked[-1] if asked else ''})",
          "right Id, but no api() request sent since the attempt cell returned it: "
          "ask the daemon with api('GET', ...)")
check_08()
''', check_fn_pt='''
def check_08():
    """O Id deve estar certo *e* ter vindo de uma requisição que você mandou ao daemon."""
    try:
        want = eng.containers.get(P + "-from-docker").id
    except NotFound:
        return check(False, "", f"não existe o container {P}-from-docker: a célula do `docker run` "
                     "acima não o criou (veja a saída dela: a CLI docker está instalada?)")
    if not isinstance(answer, str) or not answer:
        return check(False, "", "answer deve ser o Id do container (um str de 64 dígitos hex)")
    if answer != want:
        return check(False, "", "quase, mas não é o Id completo (64 dígitos hex)" if want.startswith(answer)
                     else f"{answer[:12]!r} não é o Id de {P}-from-docker")
    asked = [f"{m} {p}" for m, p, status, body in CALLS[globals().get("START", len(CALLS)):]
             if status == 200 and want in json.dumps(body, default=str)]
    check(asked, f"esse é o Id que o daemon deu ao container iniciado pelo docker (você pediu: {asked[-1] if asked else ''})",
          "Id certo, mas nenhuma requisição api() enviada desde a célula de tentativa o devolveu: "
          "pergunte ao daemon com api('GET', ...)")
check_08()
''',
        solution='''
START = len(CALLS)
status, body = api("GET", f"/containers/{P}-from-docker/json")
answer = body["Id"] if status == 200 else None
check_08()
'''),
    summary(
        ["The Docker host is the machine; the daemon is a process on it that serves Docker's HTTP API on a socket.",
         'Every client (curl, a short Python script, the `docker` CLI) speaks that same API, so each sees what the others made; whoever can open the socket controls the host.',
         'Docker chains dockerd → containerd → shim → runc; glassbox folds the chain into one library and a shim per container.'],
        ['O Docker host é a máquina; o daemon é um processo nela que serve a API HTTP do Docker num socket.',
         'Todo cliente (curl, um pequeno script Python, a CLI `docker`) fala essa mesma API, então cada um vê o que os outros criaram; quem consegue abrir o socket controla o host.',
         'O Docker encadeia dockerd → containerd → shim → runc; o glassbox junta a cadeia numa biblioteca e num shim por container.'],
        '[09 · volumes](09-volumes.ipynb), data that outlives a container.',
        '[09 · volumes](09-volumes.ipynb), dados que sobrevivem ao container.'),
    *finish(
        "The daemon gets `SIGTERM`: it stops listening and removes its socket.",
        "O daemon recebe `SIGTERM`: para de escutar e remove o socket.",
        extra_code='''
daemon.send_signal(signal.SIGTERM)
daemon.wait(20)
daemon_log.close()
print("daemon exited:", daemon.returncode, "· socket still there?", os.path.exists(SOCK))
shutil.rmtree(rundir)
''', extra_code_pt={'"daemon exited:"': '"o daemon saiu com:"', '"· socket still there?"': '"· o socket ainda existe?"'}),
]
