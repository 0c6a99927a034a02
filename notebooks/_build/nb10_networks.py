from common import code, exercise, finish, header, md, needs_md, setup, summary

SLUG = "10-networks"

CELLS = [
    *header(
        10, "Networks: containers talking to each other", "Redes: containers conversando entre si",
        ["Create a network and put an app container and a database container on it.",
         "Let the app reach the database **by name**.",
         "Draw the bridge, the veth pairs and the addresses from the live state."],
        ["Criar uma rede e colocar nela um container de aplicação e um de banco de dados.",
         "Fazer a aplicação alcançar o banco **pelo nome**.",
         "Desenhar a bridge, os pares veth e os endereços a partir do estado ao vivo."],
        ["network"],
        quote_pt="""
Tanto o Docker Host e o Docker Host [*sic*: Docker Host e Docker Client] possui a feature de **Network** que garante a
comunicação entre containers. Um container é um processo, e precisa de uma forma de se
comunicar com outro container (exemplo: container A está rodando uma aplicação que
necessita conectar num banco de dados que está no container B), e é no **network** que o
Docker permite esta comunicação.
""",
        quote_en="""
The Docker Host has the **Network** feature, which makes communication between containers
possible. A container is a process and needs a way to talk to another container (for
example: container A runs an application that must connect to a database in container B),
and the **network** is where Docker allows that communication.
"""),
    *setup("nb10"),
    md("""
## Alone, a container cannot reach anyone

By default a glassbox container has its own network namespace with only `lo` (notebook 01).
""", """
## Sozinho, um container não alcança ninguém

Por padrão um container do glassbox tem seu próprio namespace de rede, só com `lo`
(notebook 01).
"""),
    code('''
!{GB} run --rm busybox ip -o addr
'''),
    md("""
## A network

`network create` makes a Linux **bridge** (a virtual switch) on the host with a subnet.
Each container on the network gets a **veth pair**: one end, `eth0`, inside the container's
namespace with an address; the other end plugged into the bridge.
""", """
## Uma rede

O `network create` cria uma **bridge** Linux (um switch virtual) no host, com uma sub-rede.
Cada container na rede ganha um **par veth**: uma ponta, `eth0`, dentro do namespace do
container, com um endereço; a outra ponta ligada na bridge.
"""),
    code('''
!{GB} network create {P}-net
net = eng.networks.inspect(P + "-net")
print("bridge", net.bridge, "subnet", net.subnet, "gateway", net.gateway)
!ip -br addr show {net.bridge}
''', '''
!{GB} network create {P}-net
net = eng.networks.inspect(P + "-net")
print("bridge", net.bridge, "sub-rede", net.subnet, "gateway", net.gateway)
!ip -br addr show {net.bridge}
'''),
    md("""
## The database container (B) and the app container (A)

"B" stands in for a database: busybox's `httpd` serving a record on port 8080. It joins the
network with the alias `db`. "A", the app, asks `http://db:8080/` — by name.
""", """
## O container do banco (B) e o da aplicação (A)

O "B" faz o papel de um banco de dados: o `httpd` da busybox servindo um pequeno documento JSON na porta
8080. Ele entra na rede com o apelido `db`. O "A", a aplicação, pede `http://db:8080/` —
pelo nome.
"""),
    code('''
!{GB} run -d --name {P}-db --network {P}-net --network-alias db busybox sh -c 'mkdir -p /srv && echo "{{\\"user\\": \\"ana\\", \\"balance\\": 42}}" > /srv/record.json && exec httpd -f -p 8080 -h /srv'
!{GB} run -d --name {P}-app --network {P}-net busybox sleep 600
time.sleep(0.3)
!{GB} exec {P}-app wget -qO- http://db:8080/record.json
'''),
    md("""
How did `db` become an address? glassbox writes the network's members into each
container's `/etc/hosts` (Docker uses a small DNS server; the effect is the same):
""", """
Como `db` virou um endereço? O glassbox escreve os membros da rede no `/etc/hosts` de cada
container (o Docker usa um pequeno servidor DNS; o efeito é o mesmo):
"""),
    code('''
!{GB} exec {P}-app cat /etc/hosts
!{GB} exec {P}-app ip -o -4 addr show eth0
'''),
    needs_md("root", """
The picture, from the live state: the network's endpoints (`eng.networks.inspect`) and the
host's links (`ip -o link`: each host-side veth says `master <bridge>`).

Rootless, the bridge and the host ends of the veths are not in the host's network
namespace: they live in a network namespace of your own, kept by one *holder* process per
user (`engine/glassbox/rootless/netns.py`). To see the same links there, enter it:
`nsenter -t <holder pid> -U --preserve-credentials -n ip -o link`, with the pid from
`glassbox.rootless.netns.holder_pid(eng.root)`; the endpoints (`eng.networks.inspect`) need
no root at all.
""", """
A figura, a partir do estado ao vivo: os endpoints da rede (`eng.networks.inspect`) e os
links do host (`ip -o link`: cada veth do lado do host diz `master <bridge>`).

No rootless, a bridge e as pontas dos veths do lado do host não ficam no namespace de rede
do host: ficam num namespace de rede seu, mantido por um processo *holder* por usuário
(`engine/glassbox/rootless/netns.py`). Para ver os mesmos links lá, entre nele:
`nsenter -t <pid do holder> -U --preserve-credentials -n ip -o link`, com o pid dado por
`glassbox.rootless.netns.holder_pid(eng.root)`; os endpoints (`eng.networks.inspect`) não
precisam de root.
"""),
    code('''
%%needs root
%matplotlib inline
import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch
net = eng.networks.inspect(P + "-net")
links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout.splitlines()
on_bridge = {l.split(":")[1].strip().split("@")[0] for l in links if f"master {net.bridge} " in l}
eps = sorted(net.endpoints.values(), key=lambda e: e.name)
fig, ax = plt.subplots(figsize=(10, 4))
ax.add_patch(FancyBboxPatch((0.3, 0.05), 0.4, 0.16, boxstyle="round,pad=0.01", fc="#e8f0fe", ec="#4a6fa5"))
ax.text(0.5, 0.13, f"bridge {net.bridge}\\n{net.gateway}/{net.prefixlen} (gateway)", ha="center", va="center", fontsize=9)
ax.text(0.02, 0.13, "host", fontsize=10, weight="bold")
for i, ep in enumerate(eps):
    x = 0.18 + i * (0.64 / max(1, len(eps) - 1)) if len(eps) > 1 else 0.5
    ax.add_patch(FancyBboxPatch((x - 0.14, 0.62), 0.28, 0.3, boxstyle="round,pad=0.01", fc="#fff4d6", ec="#c99a2e"))
    names = ", ".join([ep.name] + [a for a in ep.aliases if a != ep.name])
    ax.text(x, 0.84, f"container {names}", ha="center", fontsize=9, weight="bold")
    ax.text(x, 0.72, f"{ep.ifname}  {ep.ip}/{ep.prefixlen}\\n{ep.mac}", ha="center", fontsize=8, family="monospace")
    ok = "✓ on bridge" if ep.host_ifname in on_bridge else "?"
    ax.plot([x, x], [0.62, 0.21], color="#2e7d32", lw=2)
    ax.text(x + 0.01, 0.42, f"veth\\n{ep.host_ifname}\\n{ok}", fontsize=7.5, family="monospace")
ax.set_xlim(0, 1); ax.set_ylim(0, 1); ax.set_axis_off()
ax.set_title(f"network {net.name}  {net.subnet}", fontsize=10)
plt.show()
!ip -o link | grep {net.bridge} | cut -d' ' -f2,9
''', '''
%%needs root
%matplotlib inline
import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch
net = eng.networks.inspect(P + "-net")
links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout.splitlines()
on_bridge = {l.split(":")[1].strip().split("@")[0] for l in links if f"master {net.bridge} " in l}
eps = sorted(net.endpoints.values(), key=lambda e: e.name)
fig, ax = plt.subplots(figsize=(10, 4))
ax.add_patch(FancyBboxPatch((0.3, 0.05), 0.4, 0.16, boxstyle="round,pad=0.01", fc="#e8f0fe", ec="#4a6fa5"))
ax.text(0.5, 0.13, f"bridge {net.bridge}\\n{net.gateway}/{net.prefixlen} (gateway)", ha="center", va="center", fontsize=9)
ax.text(0.02, 0.13, "host", fontsize=10, weight="bold")
for i, ep in enumerate(eps):
    x = 0.18 + i * (0.64 / max(1, len(eps) - 1)) if len(eps) > 1 else 0.5
    ax.add_patch(FancyBboxPatch((x - 0.14, 0.62), 0.28, 0.3, boxstyle="round,pad=0.01", fc="#fff4d6", ec="#c99a2e"))
    names = ", ".join([ep.name] + [a for a in ep.aliases if a != ep.name])
    ax.text(x, 0.84, f"container {names}", ha="center", fontsize=9, weight="bold")
    ax.text(x, 0.72, f"{ep.ifname}  {ep.ip}/{ep.prefixlen}\\n{ep.mac}", ha="center", fontsize=8, family="monospace")
    ok = "✓ na bridge" if ep.host_ifname in on_bridge else "?"
    ax.plot([x, x], [0.62, 0.21], color="#2e7d32", lw=2)
    ax.text(x + 0.01, 0.42, f"veth\\n{ep.host_ifname}\\n{ok}", fontsize=7.5, family="monospace")
ax.set_xlim(0, 1); ax.set_ylim(0, 1); ax.set_axis_off()
ax.set_title(f"rede {net.name}  {net.subnet}", fontsize=10)
plt.show()
!ip -o link | grep {net.bridge} | cut -d' ' -f2,9
'''),
    md("""
## Isolation: another network cannot reach `db`

A container on **another** network has a network of its own (its bridge, its subnet, a
gateway), and still cannot reach `db`, not even by its address: the two bridges are not
connected (this host does not route between them: `net.ipv4.ip_forward` is printed below).
Who talks to whom is chosen by which networks a container joins. (A container with no
network at all, as at the top, proves nothing here: it has no route to anywhere.)
""", """
## Isolamento: outra rede não alcança o `db`

Um container em **outra** rede tem uma rede própria (a bridge dela, a sub-rede, um
gateway) e mesmo assim não alcança o `db`, nem pelo endereço: as duas bridges não estão
ligadas (este host não roteia entre elas: o `net.ipv4.ip_forward` é mostrado abaixo).
Quem fala com quem é decidido pelas redes em que cada container entra. (Um container sem
rede nenhuma, como no começo, não prova nada aqui: ele não tem rota para lugar nenhum.)
"""),
    code('''
!{GB} network create {P}-other
db_ip = net.endpoints[eng.containers.get(P + "-db").id].ip
probe = f"ip -o -4 addr show eth0 | cut -d' ' -f2,7; echo GET | nc -w 2 {db_ip} 8080; echo nc exit=$?"
out = eng.run("busybox", ["sh", "-c", probe], network=P + "-other", auto_remove=True)
print(f"from {P}-other to db ({db_ip}):", out.stdout.decode().strip(), out.stderr.decode().strip())
print("ip_forward on this host:", open("/proc/sys/net/ipv4/ip_forward").read().strip())
''', '''
!{GB} network create {P}-other
db_ip = net.endpoints[eng.containers.get(P + "-db").id].ip
probe = f"ip -o -4 addr show eth0 | cut -d' ' -f2,7; echo GET | nc -w 2 {db_ip} 8080; echo nc exit=$?"
out = eng.run("busybox", ["sh", "-c", probe], network=P + "-other", auto_remove=True)
print(f"de {P}-other para o db ({db_ip}):", out.stdout.decode().strip(), out.stderr.decode().strip())
print("ip_forward neste host:", open("/proc/sys/net/ipv4/ip_forward").read().strip())
'''),
    md("""
## `-p`: publishing a port on the host

`EXPOSE` (notebook 05) only documents a port. To reach a container from the **host**,
publish it: `-p 127.0.0.1:PORT:8080` makes glassbox listen on the host's
127.0.0.1:PORT and forward every connection to the container's port 8080 (Docker does
the same with `docker-proxy` and NAT rules). Here `curl` on the host reads `db`'s record
through the published port.
""", """
## `-p`: publicando uma porta no host

O `EXPOSE` (notebook 05) só documenta uma porta. Para alcançar um container a partir do
**host**, publique-a: `-p 127.0.0.1:PORTA:8080` faz o glassbox escutar em 127.0.0.1:PORTA
no host e repassar cada conexão para a porta 8080 do container (o Docker faz o mesmo com o
`docker-proxy` e regras de NAT). Aqui o `curl` no host lê o registro do `db` pela porta
publicada.
"""),
    code('''
import socket
with socket.socket() as s:                 # a free port on the host's loopback
    s.bind(("127.0.0.1", 0)); PORT = s.getsockname()[1]
!{GB} run -d --name {P}-pub -p 127.0.0.1:{PORT}:8080 busybox sh -c 'echo published > /i && exec httpd -f -p 8080 -h /'
time.sleep(0.5)
!{GB} port {P}-pub
!curl -s --max-time 3 http://127.0.0.1:{PORT}/i
!{GB} rm -f {P}-pub
'''),
    *exercise(
        "What is the IP address of the `db` container on `nb10-net`? Find it **from inside "
        "the network**: run a container named `nb10-probe` on `nb10-net` whose command looks "
        "`db` up and prints its address (e.g. `grep -w db /etc/hosts`, or `ping -c1 db`), "
        "keep it (no `auto_remove`/`--rm`), and put the address it printed in `answer` as a "
        "string. The check reads the probe's own log.",
        "Qual é o endereço IP do container `db` na `nb10-net`? Descubra **de dentro da "
        "rede**: rode um container chamado `nb10-probe` na `nb10-net` cujo comando procure "
        "`db` e imprima o endereço (por exemplo `grep -w db /etc/hosts` ou `ping -c1 db`), "
        "não o remova (sem `auto_remove`/`--rm`) e coloque em `answer`, como string, o "
        "endereço que ele imprimiu. A verificação lê o log do próprio probe.",
        attempt='''
answer = None   # your code here, e.g. eng.run("busybox", [...], name=P + "-probe", network=P + "-net")
''',
        check_fn='''
def check_10():
    """Looks at the probe you ran: its network, its command, what it printed."""
    db = eng.containers.get(P + "-db").id
    want = eng.networks.inspect(P + "-net").endpoints[db].ip
    try:
        c = eng.containers.get(P + "-probe")
    except NotFound:
        return check(False, "", f"there is no container {P}-probe (see ps -a): run one with "
                     f"name='{P}-probe', network='{P}-net' and without auto_remove")
    if c.config["HostConfig"].get("NetworkMode") != P + "-net":
        return check(False, "", f"{P}-probe is not on {P}-net: pass network='{P}-net'")
    argv = [c.config["Path"], *c.config["Args"]]
    if want in " ".join(argv):
        return check(False, "", f"{P}-probe was told the address ({argv}): let it look 'db' up itself")
    if c.running:
        return check(False, "", f"{P}-probe is still running: its command should print and exit")
    printed = "".join(t for s, t, _ in eng.containers.logs(c.id) if s == "stdout")
    if want not in printed.split() and f"({want})" not in printed:
        return check(False, "", f"{P}-probe printed {printed.strip()!r}, not db's address: "
                     "look for the line with 'db' in its /etc/hosts")
    if not isinstance(answer, str) or answer.strip() != want:
        return check(False, "", f"{P}-probe found it, but answer is {answer!r}: put the address it printed, as a str")
    check(True, f"db is {want} on {P}-net, as {P}-probe saw from inside", "")
check_10()
''', check_fn_pt='''
def check_10():
    """Olha o probe que você rodou: a rede, o comando, o que ele imprimiu."""
    db = eng.containers.get(P + "-db").id
    want = eng.networks.inspect(P + "-net").endpoints[db].ip
    try:
        c = eng.containers.get(P + "-probe")
    except NotFound:
        return check(False, "", f"não existe o container {P}-probe (veja o ps -a): rode um com "
                     f"name='{P}-probe', network='{P}-net' e sem auto_remove")
    if c.config["HostConfig"].get("NetworkMode") != P + "-net":
        return check(False, "", f"{P}-probe não está na {P}-net: passe network='{P}-net'")
    argv = [c.config["Path"], *c.config["Args"]]
    if want in " ".join(argv):
        return check(False, "", f"{P}-probe recebeu o endereço pronto ({argv}): deixe que ele procure 'db'")
    if c.running:
        return check(False, "", f"{P}-probe ainda está rodando: o comando deve imprimir e terminar")
    printed = "".join(t for s, t, _ in eng.containers.logs(c.id) if s == "stdout")
    if want not in printed.split() and f"({want})" not in printed:
        return check(False, "", f"{P}-probe imprimiu {printed.strip()!r}, não o endereço do db: "
                     "procure a linha com 'db' no /etc/hosts dele")
    if not isinstance(answer, str) or answer.strip() != want:
        return check(False, "", f"{P}-probe achou, mas answer é {answer!r}: coloque o endereço que ele imprimiu, como str")
    check(True, f"db é {want} na {P}-net, como o {P}-probe viu de dentro", "")
check_10()
''',
        solution='''
out = eng.run("busybox", ["grep", "-w", "db", "/etc/hosts"], name=P + "-probe", network=P + "-net").stdout.decode()
answer = out.split()[0]
check_10()
'''),
    summary(
        ['Alone, a container has only `lo`. A user network is a Linux bridge; each container is plugged into it by a veth pair and gets its own IP.',
         'On a user network containers find each other by name; a container on another network cannot reach them.',
         "`-p` publishes a container's port on the host, which is how the outside world gets in."],
        ['Sozinho, um container só tem o `lo`. Uma rede de usuário é uma bridge do Linux; cada container é ligado a ela por um par veth e ganha um IP próprio.',
         'Numa rede de usuário os containers se encontram pelo nome; um container em outra rede não os alcança.',
         'O `-p` publica uma porta do container no host, e é assim que o mundo de fora entra.'],
        '[10b · installing](10b-installing.ipynb), what this machine lets the lab do.',
        '[10b · instalando](10b-installing.ipynb), o que esta máquina deixa o laboratório fazer.'),
    *finish(
        "When a container's last process ends, the kernel deletes its veth pair together with "
        "its network namespace (glassbox only sets the host end down and gives the address "
        "back); removing the network deletes the bridge.",
        "Quando o último processo de um container termina, o kernel apaga o par veth junto com "
        "o namespace de rede (o glassbox só desliga a ponta do host e devolve o endereço); "
        "remover a rede apaga a bridge.",
        extra_code='''
bridge = eng.networks.inspect(P + "-net").bridge
'''),
    code('''
print("bridge still on the host?", os.path.exists(f"/sys/class/net/{bridge}"))
''', '''
print("a bridge ainda está no host?", os.path.exists(f"/sys/class/net/{bridge}"))
'''),
]
