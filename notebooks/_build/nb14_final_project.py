from common import _pt, code, exercise, finish, header, md, setup

SLUG = "14-final-project"

PT = {
    "# the app's code: a CGI script that counts visits in /data/visits":
        "# o código do app: um script CGI que conta as visitas em /data/visits",
    "# a free port on 127.0.0.1 for your service": "# uma porta livre em 127.0.0.1 para o seu serviço",
    "the app folder:": "a pasta do app:",
    "publish your service on": "publique seu serviço em",
    "# machine A is this notebook's state root; machine B, an empty one next to it":
        "# a máquina A é o diretório de estado deste notebook; a máquina B, um vazio ao lado",
    "# a private registry on a free loopback port (as in notebook 07), storage in a temp folder":
        "# um registry privado numa porta livre do loopback (como no notebook 07), o armazenamento numa pasta temporária",
    '"machine B (empty):", MACHINE_B': '"máquina B (vazia):", MACHINE_B',
}

APP_CELL = '''
# the app's code: a CGI script that counts visits in /data/visits
APP = tempfile.mkdtemp(prefix=P + "-app-")
with open(os.path.join(APP, "app.sh"), "w") as f:
    f.write("""#!/bin/sh
echo "Content-Type: text/plain"
echo
echo "$(date +%T) $(hostname)" >> /data/visits
echo "visits: $(wc -l < /data/visits) (served by $(hostname))"
""")

# a free port on 127.0.0.1 for your service
import socket, urllib.request
with socket.socket() as s:
    s.bind(("127.0.0.1", 0)); PORT = s.getsockname()[1]
print("the app folder:", APP, sorted(os.listdir(APP)), "· publish your service on", f"127.0.0.1:{PORT}")
'''


REGISTRY_CELL = '''
# a private registry on a free loopback port (as in notebook 07), storage in a temp folder
registry = gj.local_registry(P)
REG = registry.address
# machine A is this notebook's state root; machine B, an empty one next to it
MACHINE_B = tempfile.mkdtemp(prefix=P + "-machine-b-")
print(registry)
print("machine B (empty):", MACHINE_B)
'''

CHECK = '''
import urllib.request


def memory_limit_from_the_kernel(pid):
    """The memory limit of a process's cgroup, read from the cgroup file itself (v1 or v2)."""
    for line in open(f"/proc/{pid}/cgroup").read().splitlines():
        _, ctrls, path = line.split(":", 2)
        if "memory" in ctrls.split(","):
            return int(open(f"/sys/fs/cgroup/memory{path}/memory.limit_in_bytes").read())
        if ctrls == "" and os.path.exists(f"/sys/fs/cgroup{path}/memory.max"):
            v = open(f"/sys/fs/cgroup{path}/memory.max").read().strip()
            return None if v == "max" else int(v)
    return None


def check_14():
    """Live: the image, the network, the volume, the cgroup, the health, the port, the data."""
    name = P + "-web"
    p = subprocess.run([GB, "image", "inspect", name], capture_output=True, text=True)
    if p.returncode != 0:
        return check(False, "", f"there is no image {name}: write {{APP}}/Dockerfile and build it with -t {name}")
    if not (json.loads(p.stdout)[0].get("Config") or {}).get("Healthcheck"):
        return check(False, "", f"the image {name} has no HEALTHCHECK: add one to the Dockerfile")
    try:
        c = eng.containers.get(name)
    except NotFound:
        return check(False, "", f"there is no container {name}: run the image detached with --name {name}")
    if not c.running:
        return check(False, "", f"{name} is {c.status}: it must be running (-d)")
    info = c.inspect()
    if P + "-net" not in info["NetworkSettings"]["Networks"]:
        return check(False, "", f"{name} is not on the network {P}-net: --network {P}-net")
    vols = [m for m in info.get("Mounts", []) if m.get("Name") == P + "-data" and m.get("Destination") == "/data"]
    if not vols:
        return check(False, "", f"{name} does not mount the volume {P}-data at /data: -v {P}-data:/data")
    limit = memory_limit_from_the_kernel(c.pid)
    if limit != 32 * 2**20:
        return check(False, "", f"the kernel says {name}'s memory limit is {limit}: -m 32m")
    for _ in range(40):
        health = eng.containers.get(name).inspect()["State"].get("Health", {}).get("Status")
        if health != "starting":
            break
        time.sleep(0.5)
    if health != "healthy":
        return check(False, "", f"{name}'s health is {health!r}: the HEALTHCHECK must fetch the page (wget -q -O- http://127.0.0.1:8080/cgi-bin/app)")
    try:
        page = urllib.request.urlopen(f"http://127.0.0.1:{PORT}/cgi-bin/app", timeout=5).read().decode()
    except OSError as e:
        return check(False, "", f"nothing answers on 127.0.0.1:{PORT} ({e}): -p 127.0.0.1:{PORT}:8080")
    peer = subprocess.run([GB, "run", "--rm", "--network", P + "-net", "busybox", "wget", "-q", "-O-",
                           f"http://{name}:8080/cgi-bin/app"], capture_output=True, text=True)
    if "visits:" not in peer.stdout:
        return check(False, "", f"a container on {P}-net cannot reach http://{name}:8080: {peer.stderr.strip()}")
    try:
        poller = eng.containers.get(P + "-poller")
    except NotFound:
        return check(False, "", f"there is no second service {P}-poller: a busybox on {P}-net that wgets http://{name}:8080/cgi-bin/app every second")
    if not poller.running or P + "-net" not in poller.inspect()["NetworkSettings"]["Networks"]:
        return check(False, "", f"{P}-poller must be running on {P}-net (it is {poller.status})")
    me = info["Config"]["Hostname"]
    for _ in range(20):
        logs = subprocess.run([GB, "logs", poller.id], capture_output=True, text=True).stdout
        if f"served by {me}" in logs:
            break
        time.sleep(0.5)
    else:
        return check(False, "", f"{P}-poller's log shows no page served by the current {name} ({me}): does it wget http://{name}:8080/cgi-bin/app in a loop?")
    lines = open(os.path.join(eng.volumes.data_dir(P + "-data"), "visits")).read().splitlines()
    hosts = {ln.split()[-1] for ln in lines if ln.strip()}
    if me not in hosts or len(hosts) < 2:
        return check(False, "", f"the volume's visits were served by {len(hosts)} container(s): re-create {name} "
                     "(rm -f, run again with the same flags) and visit it again: the count must go on")
    ref = f"{REG}/{name}:1"
    want = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
    try:
        answer = urllib.request.urlopen(urllib.request.Request(f"http://{REG}/v2/{name}/manifests/1",
                                                               headers={"Accept": want}), timeout=5)
        pushed, manifest = answer.headers["Docker-Content-Digest"], json.load(answer)
    except OSError as e:
        return check(False, "", f"the registry {REG} has no {name}:1 ({e}): tag your image as {ref} and push it")
    if manifest["config"]["digest"] != eng.images.resolve(name).id:
        return check(False, "", f"the registry's {name}:1 is not the image {name} you built: tag {name} as {ref} again and push it")
    try:
        pulled = Engine(MACHINE_B).images.resolve(ref)
    except NotFound:
        return check(False, "", f"machine B has no {ref}: pull it there with {GB} --root {MACHINE_B} pull {ref}")
    if pulled.manifest_digest != pushed:
        return check(False, "", f"machine B's {ref} is {pulled.manifest_digest}, the registry holds {pushed}: pull it again")
    check(True, f"{name} (healthy) answers on 127.0.0.1:{PORT} and by name to {P}-poller on {P}-net, its cgroup holds 32 MiB, "
          f"{len(lines)} visits by {len(hosts)} containers live on in the volume {P}-data, "
          f"and machine B pulled {ref} with the digest that was pushed ({pushed[:19]}…)", "")
check_14()
'''

CHECK_PT = {
    "The memory limit of a process's cgroup, read from the cgroup file itself (v1 or v2).":
        "O limite de memória do cgroup de um processo, lido do próprio arquivo do cgroup (v1 ou v2).",
    "Live: the image, the network, the volume, the cgroup, the health, the port, the data.":
        "Ao vivo: a imagem, a rede, o volume, o cgroup, a saúde, a porta, os dados.",
    "there is no image {name}: write {{APP}}/Dockerfile and build it with -t {name}":
        "não há imagem {name}: escreva {{APP}}/Dockerfile e faça o build com -t {name}",
    "the image {name} has no HEALTHCHECK: add one to the Dockerfile":
        "a imagem {name} não tem HEALTHCHECK: acrescente um ao Dockerfile",
    "there is no container {name}: run the image detached with --name {name}":
        "não há container {name}: rode a imagem em segundo plano com --name {name}",
    "{name} is {c.status}: it must be running (-d)": "{name} está {c.status}: ele precisa estar rodando (-d)",
    "{name} is not on the network {P}-net": "{name} não está na rede {P}-net",
    "{name} does not mount the volume {P}-data at /data": "{name} não monta o volume {P}-data em /data",
    "the kernel says {name}'s memory limit is {limit}": "o kernel diz que o limite de memória de {name} é {limit}",
    "{name}'s health is {health!r}: the HEALTHCHECK must fetch the page":
        "a saúde de {name} é {health!r}: o HEALTHCHECK precisa buscar a página",
    "nothing answers on 127.0.0.1:{PORT}": "nada responde em 127.0.0.1:{PORT}",
    "a container on {P}-net cannot reach": "um container na {P}-net não alcança",
    "the volume's visits were served by {len(hosts)} container(s): re-create {name} ":
        "as visitas do volume foram servidas por {len(hosts)} container(es): recrie o {name} ",
    "(rm -f, run again with the same flags) and visit it again: the count must go on":
        "(rm -f, rode de novo com as mesmas flags) e visite de novo: a contagem precisa continuar",
    "{name} (healthy) answers on 127.0.0.1:{PORT} and by name to {P}-poller on {P}-net, its cgroup holds 32 MiB, ":
        "{name} (healthy) responde em 127.0.0.1:{PORT} e pelo nome ao {P}-poller na {P}-net, o cgroup dele segura 32 MiB, ",
    "there is no second service {P}-poller: a busybox on {P}-net that wgets http://{name}:8080/cgi-bin/app every second":
        "não há o segundo serviço {P}-poller: um busybox na {P}-net que faz wget de http://{name}:8080/cgi-bin/app a cada segundo",
    "{P}-poller must be running on {P}-net (it is {poller.status})":
        "o {P}-poller precisa estar rodando na {P}-net (ele está {poller.status})",
    "{P}-poller's log shows no page served by the current {name} ({me}): does it wget http://{name}:8080/cgi-bin/app in a loop?":
        "o log do {P}-poller não mostra nenhuma página servida pelo {name} atual ({me}): ele faz wget de http://{name}:8080/cgi-bin/app em loop?",
    "{len(lines)} visits by {len(hosts)} containers live on in the volume {P}-data, ":
        "{len(lines)} visitas de {len(hosts)} containers continuam vivas no volume {P}-data, ",
    "and machine B pulled {ref} with the digest that was pushed":
        "e a máquina B fez o pull de {ref} com o digest que foi enviado",
    "the registry {REG} has no {name}:1 ({e}): tag your image as {ref} and push it":
        "o registry {REG} não tem {name}:1 ({e}): dê à sua imagem a tag {ref} e faça o push",
    "the registry's {name}:1 is not the image {name} you built: tag {name} as {ref} again and push it":
        "o {name}:1 do registry não é a imagem {name} que você construiu: dê de novo a tag {ref} a {name} e faça o push",
    "machine B has no {ref}: pull it there with": "a máquina B não tem {ref}: faça o pull lá com",
    "machine B's {ref} is {pulled.manifest_digest}, the registry holds {pushed}: pull it again":
        "o {ref} da máquina B é {pulled.manifest_digest}, o registry guarda {pushed}: faça o pull de novo",
}

SOLUTION = '''
import urllib.request
with open(os.path.join(APP, "Dockerfile"), "w") as f:
    f.write("""FROM busybox
COPY app.sh /www/cgi-bin/app
RUN chmod +x /www/cgi-bin/app && mkdir -p /data
HEALTHCHECK --interval=1s --timeout=2s --retries=3 CMD wget -q -O- http://127.0.0.1:8080/cgi-bin/app || exit 1
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
""")
!{GB} build -q -t {P}-web {APP}
!{GB} network create {P}-net
!{GB} volume create {P}-data
RUN = f"-d --name {P}-web --network {P}-net -v {P}-data:/data -m 32m -p 127.0.0.1:{PORT}:8080 {P}-web"
!{GB} run {RUN}
time.sleep(1.5)
print(urllib.request.urlopen(f"http://127.0.0.1:{PORT}/cgi-bin/app", timeout=5).read().decode())
!{GB} rm -f {P}-web
!{GB} run {RUN}
!{GB} run -d --name {P}-poller --network {P}-net busybox sh -c 'while true; do wget -q -O- http://{P}-web:8080/cgi-bin/app; sleep 1; done'
time.sleep(1.5)
print(urllib.request.urlopen(f"http://127.0.0.1:{PORT}/cgi-bin/app", timeout=5).read().decode())
!{GB} tag {P}-web {REG}/{P}-web:1
!{GB} push {REG}/{P}-web:1
!{GB} --root {MACHINE_B} pull {REG}/{P}-web:1
check_14()
'''

CELLS = [
    *header(
        14, "Final project: a small app, end to end", "Projeto final: um pequeno app, de ponta a ponta",
        ["Write a Dockerfile for a tiny web service on the busybox base image, with a healthcheck.",
         "Run it on a user network, with a volume, a memory limit and a port published on 127.0.0.1.",
         "Reach it from the host through the port, and from a second container by name.",
         "Re-create the container and keep its data in the volume.",
         "Push the image to a registry and pull it on a second machine, with the same digest."],
        ["Escrever um Dockerfile para um pequeno serviço web sobre a imagem base busybox, com um "
         "healthcheck.",
         "Rodá-lo numa rede de usuário, com um volume, um limite de memória e uma porta publicada "
         "em 127.0.0.1.",
         "Alcançá-lo do host pela porta e de um segundo container pelo nome.",
         "Recriar o container e manter os dados dele no volume.",
         "Enviar a imagem (push) para um registry e baixá-la (pull) numa segunda máquina, com o "
         "mesmo digest."],
        ["build", "network", "volumes", "cgroups", "registry"],
        quote_pt="""
Um container é um processo, e precisa de uma forma de se comunicar com outro container
(exemplo: container A está rodando uma aplicação que necessita conectar num banco de dados
que está no container B), e é no **network** que o Docker permite esta comunicação.
""",
        quote_en="""
A container is a process, and needs a way to talk to another container (for example:
container A runs an application that must connect to a database in container B), and it is
the **network** that lets Docker do this.
"""),
    *setup("nb14"),
    md("""
## The project

Everything in the course, in one app. The service is busybox's own web server, `httpd`,
serving a CGI script that counts visits in a file under `/data`. You write the Dockerfile
and run it; the pieces, and the notebook that taught each:

| piece | how | notebook |
| --- | --- | --- |
| image `nb14-web` | `FROM busybox`, `COPY app.sh /www/cgi-bin/app`, make it executable, `CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]` | 05 |
| healthcheck | `HEALTHCHECK --interval=1s CMD wget -q -O- http://127.0.0.1:8080/cgi-bin/app \\|\\| exit 1` | 05 |
| network `nb14-net` | `--network nb14-net`: other containers find it by name | 10 |
| volume `nb14-data` | `-v nb14-data:/data`: the visits outlive the container | 09 |
| memory limit | `-m 32m`, read back from the cgroup file | 02 |
| published port | `-p 127.0.0.1:PORT:8080`, only on loopback | 10 |
| second service `nb14-poller` | a busybox on `nb14-net` that fetches `http://nb14-web:8080/cgi-bin/app` every second | 10, 11 |
| push and pull | `tag` it `REG/nb14-web:1`, `push` it to the registry below, `pull` it on "machine B" (`{GB} --root MACHINE_B pull ...`, an empty state root) | 07 |

The app's code is ready, and so are a registry on 127.0.0.1 (Docker's distribution registry,
Debian's `docker-registry`, as in notebook 07) and an empty second state root that plays the
other machine:
""", """
## O projeto

Tudo o que o curso mostrou, num app só. O serviço é o próprio servidor web do busybox, o
`httpd`, servindo um script CGI que conta as visitas num arquivo em `/data`. Você escreve o
Dockerfile e o roda; as peças, e o notebook que ensinou cada uma:

| peça | como | notebook |
| --- | --- | --- |
| imagem `nb14-web` | `FROM busybox`, `COPY app.sh /www/cgi-bin/app`, torne-o executável, `CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]` | 05 |
| healthcheck | `HEALTHCHECK --interval=1s CMD wget -q -O- http://127.0.0.1:8080/cgi-bin/app \\|\\| exit 1` | 05 |
| rede `nb14-net` | `--network nb14-net`: outros containers o encontram pelo nome | 10 |
| volume `nb14-data` | `-v nb14-data:/data`: as visitas sobrevivem ao container | 09 |
| limite de memória | `-m 32m`, lido de volta do arquivo do cgroup | 02 |
| porta publicada | `-p 127.0.0.1:PORTA:8080`, só no loopback | 10 |
| segundo serviço `nb14-poller` | um busybox na `nb14-net` que busca `http://nb14-web:8080/cgi-bin/app` a cada segundo | 10, 11 |
| push e pull | dê a tag `REG/nb14-web:1`, faça o `push` para o registry abaixo e o `pull` na "máquina B" (`{GB} --root MAQUINA_B pull ...`, um diretório de estado vazio) | 07 |

O código do app já está pronto, e também um registry em 127.0.0.1 (o registry de distribuição
do Docker, o `docker-registry` do Debian, como no notebook 07) e um segundo diretório de
estado, vazio, que faz o papel da outra máquina:
"""),
    code(APP_CELL.strip("\n"), _pt(APP_CELL.strip("\n"), PT)),
    code('''
!cat {APP}/app.sh
'''),
    code(REGISTRY_CELL.strip("\n"), _pt(REGISTRY_CELL.strip("\n"), PT)),
    *exercise(
        "**Build and run the app.** Write `{APP}/Dockerfile` (base `busybox`, the CGI script at "
        "`/www/cgi-bin/app`, executable, a `HEALTHCHECK`, `httpd` in the foreground on port "
        "8080), build it as `nb14-web`, create the network `nb14-net` and the volume "
        "`nb14-data`, and run a detached container `nb14-web` on that network, with the volume "
        "at `/data`, `-m 32m` and `-p 127.0.0.1:{PORT}:8080`. Visit it, then **re-create** it "
        "(`rm -f`, `run` again with the same flags) and visit it again. Add the second service, a detached "
        "busybox `nb14-poller` on `nb14-net` that fetches the page by name in a loop. Then ship it: tag "
        "the image `{REG}/nb14-web:1`, push it, and pull it on machine B "
        "(`{GB} --root {MACHINE_B} pull ...`). The check looks at the "
        "image's healthcheck, the container's network, mounts and health, the limit in its "
        "cgroup file, the page through the port and by name from another container on "
        "`nb14-net`, the visits in the volume, written by both containers, and the registry: "
        "the image it holds must be the one you built, and machine B's copy must have the "
        "digest that was pushed.",
        "**Construa e rode o app.** Escreva `{APP}/Dockerfile` (base `busybox`, o script CGI em "
        "`/www/cgi-bin/app`, executável, um `HEALTHCHECK`, o `httpd` em primeiro plano na "
        "porta 8080), faça o build como `nb14-web`, crie a rede `nb14-net` e o volume "
        "`nb14-data` e rode em segundo plano um container `nb14-web` nessa rede, com o volume "
        "em `/data`, `-m 32m` e `-p 127.0.0.1:{PORT}:8080`. Visite-o, depois **recrie-o** "
        "(`rm -f`, `run` de novo com as mesmas flags) e visite-o de novo. Acrescente o segundo serviço, um "
        "busybox `nb14-poller` em segundo plano na `nb14-net` que busca a página pelo nome em loop. Depois "
        "distribua o app: dê à imagem a tag `{REG}/nb14-web:1`, faça o push para o registry e o pull na máquina B "
        "(`{GB} --root {MACHINE_B} pull ...`). A verificação olha o "
        "healthcheck da imagem, a rede, as montagens e a saúde do container, o limite no "
        "arquivo do cgroup dele, a página pela porta e pelo nome a partir de outro container "
        "na `nb14-net`, as visitas no volume, escritas pelos dois containers, e o registry: a "
        "imagem que ele guarda precisa ser a que você construiu, e a cópia da máquina B precisa "
        "ter o digest que foi enviado.",
        attempt='''
# your commands here: the Dockerfile, then !{GB} build ..., network, volume, run, rm -f, run, tag, push, pull
''',
        check_fn=CHECK, check_fn_pt=_pt(CHECK, CHECK_PT), solution=SOLUTION),
    md("""
## Summary

- An image is a recipe you can read (the Dockerfile) and a stack of layers; a healthcheck
  travels with it.
- A container is that image run as a process: in namespaces (its own network, found by name
  on a user network), under a cgroup (the limit is a file the kernel enforces), with a
  volume for what must outlive it, and a port on the host for the outside world.
- Re-creating a container is cheap and loses nothing that lives in a volume: that is how
  services are upgraded.
- A registry moves an image between machines: `push` uploads only the blobs it lacks, and
  `pull` on the other machine gets the very same manifest, named by the same digest.

You have reached the end of the course. Back to the [course index](../README.md).
""", """
## Resumo

- Uma imagem é uma receita que dá para ler (o Dockerfile) e uma pilha de camadas; um
  healthcheck vai junto com ela.
- Um container é essa imagem rodando como processo: em namespaces (a própria rede, achado
  pelo nome numa rede de usuário), sob um cgroup (o limite é um arquivo que o kernel faz
  valer), com um volume para o que precisa sobreviver a ele e uma porta no host para o mundo
  de fora.
- Recriar um container é barato e não perde nada do que vive num volume: é assim que serviços
  são atualizados.
- Um registry leva uma imagem de uma máquina para outra: o `push` envia só os blobs que faltam
  lá, e o `pull` na outra máquina recebe exatamente o mesmo manifest, com o mesmo digest.

Você chegou ao fim do curso. Volte ao [índice do curso](../README.md).
"""),
    *finish(
        "The registry process is stopped; its storage, machine B and the app folder are deleted.",
        "O processo do registry é parado; o armazenamento dele, a máquina B e a pasta do app são apagados.",
        extra_code="""
registry.stop()
shutil.rmtree(MACHINE_B)
shutil.rmtree(APP)
"""),
]
