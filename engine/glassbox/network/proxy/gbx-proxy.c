/*
 * gbx-proxy: glassbox's userland port proxy (the compiled one).
 *
 * One per container with published ports. The engine binds the host ports
 * itself (so "port is already allocated" is its error, at once) and hands the
 * listening sockets over as inherited file descriptors:
 *
 *   gbx-proxy --container ID --owner TAG [--watch PID:START] FD:tcp|udp:IP:PORT...
 *
 * --container and --owner are labels only, so `ps` shows whose proxy this is.
 * The same contract as the Python fallback (network/_proxy.py); see there.
 *
 * One thread, one epoll loop:
 *  - TCP: accept (non-blocking), connect to IP:PORT (non-blocking; a container
 *    that is just starting may refuse for a moment: retried every 50 ms for 2 s
 *    without holding anyone else up), then copy both ways with splice() through
 *    a pipe per direction (the bytes never enter this process). When one side
 *    reaches EOF the other side's write half is shut down (half-close passed
 *    on); when both directions are done both sockets are closed.
 *  - UDP: one upstream socket per client address, replies go back to it; a flow
 *    idle for 60 s is dropped (and the oldest one when there are too many).
 *  - It exits on SIGTERM/SIGINT, and by itself once a second it checks that the
 *    watched process (the container's init) is still there with the same start
 *    time (/proc/PID/stat field 22): a crashed engine leaves nothing running.
 *
 * Started by the engine with stdout a pipe: it detaches (forks; the parent
 * exits), and the child writes its pid on stdout once it serves the sockets.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PATIENCE_MS 2000          /* keep retrying a refused connect this long */
#define RETRY_MS 50
#define CONNECT_TIMEOUT_MS 10000  /* one attempt that gets no answer at all */
#define UDP_IDLE_MS 60000
#define UDP_MAX_FLOWS 4096        /* per port: the oldest flow goes beyond that */
#define WATCH_MS 1000
#define PIPE_BYTES (256 * 1024)   /* per direction and connection, at most */
#define MAX_SPECS 256
#define MAX_EVENTS 128

enum kind { LISTEN_TCP, LISTEN_UDP, CLIENT, UPSTREAM, UDP_FLOW, SIGNALS };

struct tag {              /* what an epoll event points at */
    enum kind kind;
    void *obj;
};

struct flow;

struct listener {
    struct tag tag;
    int fd;
    struct sockaddr_in target;
    struct flow *flows;   /* most recently used first */
    struct flow *oldest;
    int nflows;
};

struct flow {             /* one UDP client */
    struct tag tag;
    int fd;
    struct sockaddr_in client;
    int64_t last;
    struct listener *l;
    struct flow *prev, *next;
    int dead;
    struct flow *grave;
};

struct half {             /* one direction of a TCP connection */
    int pipe[2];
    size_t queued;        /* bytes in the pipe */
    int eof, shut;
};

enum state { CONNECTING, WAITING, OPEN, DEAD };

struct conn {
    struct tag ctag, utag;
    int cfd, ufd;
    enum state state;
    int64_t give_up;      /* end of the patience window */
    int64_t wake;         /* WAITING: next attempt; CONNECTING: attempt times out */
    struct listener *l;
    struct half up, down; /* client -> container, container -> client */
    struct conn *prev, *next;  /* the pending list (CONNECTING / WAITING) */
    struct conn *grave;
};

static int ep;
static int pipe_bytes = PIPE_BYTES;
static struct conn *pending;
static struct conn *conn_graves;
static struct flow *flow_graves;
static struct listener listeners[MAX_SPECS];
static int nlisteners;
static int accepting = 1;
static char buf[65536];

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *what)
{
    fprintf(stderr, "gbx-proxy: %s: %s\n", what, strerror(errno));
    exit(2);
}

static int watch(int fd, int events, struct tag *tag)
{
    struct epoll_event ev = { .events = events, .data.ptr = tag };
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* ------------------------------------------------------------------ TCP */
static void pending_add(struct conn *c)
{
    if (c->prev || pending == c)
        return;
    c->next = pending;
    if (pending)
        pending->prev = c;
    pending = c;
}

static void pending_del(struct conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else if (pending == c)
        pending = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void set_accepting(int on)
{
    if (accepting == on)
        return;
    accepting = on;
    for (int i = 0; i < nlisteners; i++) {
        if (listeners[i].tag.kind != LISTEN_TCP)
            continue;
        struct epoll_event ev = { .events = on ? EPOLLIN : 0, .data.ptr = &listeners[i].tag };
        epoll_ctl(ep, EPOLL_CTL_MOD, listeners[i].fd, &ev);
    }
}

static void conn_close(struct conn *c)
{
    if (c->state == DEAD)
        return;
    pending_del(c);
    close_fd(&c->cfd);
    close_fd(&c->ufd);
    close_fd(&c->up.pipe[0]);
    close_fd(&c->up.pipe[1]);
    close_fd(&c->down.pipe[0]);
    close_fd(&c->down.pipe[1]);
    c->state = DEAD;           /* freed after this batch of events */
    c->grave = conn_graves;
    conn_graves = c;
    set_accepting(1);          /* an fd is free again */
}

/* Move what src has into dst through the pipe, until neither can go on.
 * -1: the connection is broken (reset, or the peer is gone). */
static int pump(struct half *h, int src, int dst)
{
    for (;;) {
        int progress = 0;
        if (!h->eof && h->queued < (size_t)pipe_bytes) {
            ssize_t r = splice(src, NULL, h->pipe[1], NULL, pipe_bytes - h->queued,
                               SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (r > 0) {
                h->queued += r;
                progress = 1;
            } else if (r == 0) {
                h->eof = progress = 1;
            } else if (errno != EAGAIN && errno != EINTR) {
                return -1;
            }
        }
        if (h->queued > 0) {
            ssize_t w = splice(h->pipe[0], NULL, dst, NULL, h->queued,
                               SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (w > 0) {
                h->queued -= w;
                progress = 1;
            } else if (w == 0 || (errno != EAGAIN && errno != EINTR)) {
                return -1;
            }
        }
        if (h->eof && h->queued == 0 && !h->shut) {
            shutdown(dst, SHUT_WR);  /* pass the half-close on */
            h->shut = 1;
        }
        if (!progress)
            return 0;
    }
}

static void conn_pump(struct conn *c)
{
    if (pump(&c->up, c->cfd, c->ufd) < 0 || pump(&c->down, c->ufd, c->cfd) < 0 ||
        (c->up.shut && c->down.shut))
        conn_close(c);
}

static int open_pipe(struct half *h)
{
    if (pipe2(h->pipe, O_NONBLOCK | O_CLOEXEC) < 0)
        return -1;
    fcntl(h->pipe[1], F_SETPIPE_SZ, pipe_bytes);  /* best effort */
    return 0;
}

static void conn_open(struct conn *c)
{
    pending_del(c);
    if (open_pipe(&c->up) < 0 || open_pipe(&c->down) < 0) {
        conn_close(c);
        return;
    }
    c->state = OPEN;
    conn_pump(c);
}

static void connect_failed(struct conn *c, int64_t now)
{
    close_fd(&c->ufd);
    if (now + RETRY_MS > c->give_up) {
        conn_close(c);         /* the client sees the connection closed */
        return;
    }
    c->state = WAITING;
    c->wake = now + RETRY_MS;
    pending_add(c);
}

static void connect_upstream(struct conn *c, int64_t now)
{
    c->ufd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->ufd < 0 ||
        watch(c->ufd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, &c->utag) < 0) {
        connect_failed(c, now);
        return;
    }
    if (connect(c->ufd, (struct sockaddr *)&c->l->target, sizeof c->l->target) == 0) {
        conn_open(c);
    } else if (errno == EINPROGRESS) {
        c->state = CONNECTING;
        c->wake = now + CONNECT_TIMEOUT_MS;
        pending_add(c);
    } else {
        connect_failed(c, now);
    }
}

static void on_upstream(struct conn *c, int64_t now)
{
    if (c->state == CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err == EINPROGRESS || err == EALREADY)
            return;
        if (err)
            connect_failed(c, now);
        else
            conn_open(c);
    } else if (c->state == OPEN) {
        conn_pump(c);
    }
}

static void on_accept(struct listener *l, int64_t now)
{
    for (int i = 0; i < 64; i++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                set_accepting(0);  /* until a connection closes (or the next tick) */
            return;
        }
        struct conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            return;
        }
        c->ctag = (struct tag){ CLIENT, c };
        c->utag = (struct tag){ UPSTREAM, c };
        c->cfd = fd;
        c->ufd = -1;
        c->up.pipe[0] = c->up.pipe[1] = c->down.pipe[0] = c->down.pipe[1] = -1;
        c->l = l;
        c->give_up = now + PATIENCE_MS;
        /* edge-triggered: every event makes us copy until the kernel says EAGAIN */
        if (watch(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, &c->ctag) < 0) {
            close(fd);
            free(c);
            continue;
        }
        connect_upstream(c, now);
    }
}

/* pending connections whose time has come; the earliest wake-up after that */
static int64_t run_pending(int64_t now)
{
    int64_t next = INT64_MAX;
    struct conn *c = pending, *n;
    for (; c; c = n) {
        n = c->next;
        if (c->wake <= now) {
            if (c->state == WAITING)
                connect_upstream(c, now);
            else if (c->state == CONNECTING)
                connect_failed(c, now);
        }
    }
    for (c = pending; c; c = c->next)
        if (c->wake < next)
            next = c->wake;
    return next;
}

/* ------------------------------------------------------------------ UDP */
static void flow_unlink(struct flow *f)
{
    struct listener *l = f->l;
    if (f->prev)
        f->prev->next = f->next;
    else
        l->flows = f->next;
    if (f->next)
        f->next->prev = f->prev;
    else
        l->oldest = f->prev;
    f->prev = f->next = NULL;
}

static void flow_front(struct flow *f)
{
    struct listener *l = f->l;
    f->next = l->flows;
    f->prev = NULL;
    if (l->flows)
        l->flows->prev = f;
    l->flows = f;
    if (!l->oldest)
        l->oldest = f;
}

static void flow_drop(struct flow *f)
{
    flow_unlink(f);
    f->l->nflows--;
    close_fd(&f->fd);
    f->dead = 1;
    f->grave = flow_graves;
    flow_graves = f;
}

static struct flow *flow_for(struct listener *l, const struct sockaddr_in *client)
{
    for (struct flow *f = l->flows; f; f = f->next)
        if (f->client.sin_port == client->sin_port &&
            f->client.sin_addr.s_addr == client->sin_addr.s_addr) {
            if (f != l->flows) {
                flow_unlink(f);
                flow_front(f);
            }
            return f;
        }
    if (l->nflows >= UDP_MAX_FLOWS)
        flow_drop(l->oldest);
    struct flow *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->tag = (struct tag){ UDP_FLOW, f };
    f->client = *client;
    f->l = l;
    f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (f->fd < 0 ||
        connect(f->fd, (struct sockaddr *)&l->target, sizeof l->target) < 0 ||
        watch(f->fd, EPOLLIN, &f->tag) < 0) {
        if (f->fd >= 0)
            close(f->fd);
        free(f);
        return NULL;
    }
    flow_front(f);
    l->nflows++;
    return f;
}

static void on_udp_client(struct listener *l, int64_t now)
{
    for (int i = 0; i < 64; i++) {
        struct sockaddr_in client;
        socklen_t len = sizeof client;
        ssize_t n = recvfrom(l->fd, buf, sizeof buf, 0, (struct sockaddr *)&client, &len);
        if (n < 0)
            return;
        if (client.sin_family != AF_INET)
            continue;
        struct flow *f = flow_for(l, &client);
        if (!f)
            continue;
        f->last = now;
        send(f->fd, buf, n, MSG_NOSIGNAL);  /* a refusal (ICMP) is not our business */
    }
}

static void on_udp_reply(struct flow *f, int64_t now)
{
    for (int i = 0; i < 64 && !f->dead; i++) {
        ssize_t n = recv(f->fd, buf, sizeof buf, 0);
        if (n < 0)
            return;
        sendto(f->l->fd, buf, n, MSG_NOSIGNAL, (struct sockaddr *)&f->client, sizeof f->client);
        f->last = now;
    }
}

static void expire_flows(int64_t now)
{
    for (int i = 0; i < nlisteners; i++) {
        struct flow *f = listeners[i].oldest, *p;
        for (; f; f = p) {
            p = f->prev;
            if (now - f->last > UDP_IDLE_MS)
                flow_drop(f);
        }
    }
}

/* ------------------------------------------------------------------ watch */
/* the start time of pid (clock ticks after boot); -1 when it is gone */
static long long start_time(int pid)
{
    char path[64], stat[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, stat, sizeof stat - 1);
    close(fd);
    if (n <= 0)
        return -1;
    stat[n] = 0;
    char *p = strrchr(stat, ')');
    if (!p)
        return -1;
    /* after ") " come fields 3, 4, ...: the start time is field 22 */
    for (int field = 2; field < 22; field++) {
        p = strchr(p + 1, ' ');
        if (!p)
            return -1;
    }
    return strtoll(p + 1, NULL, 10);
}

/* ------------------------------------------------------------------ main */
static void usage(void)
{
    fprintf(stderr, "usage: gbx-proxy --container ID --owner TAG [--watch PID:START] "
                    "FD:tcp|udp:IP:PORT...\n");
    exit(2);
}

static void add_spec(const char *spec)
{
    char proto[8], ip[64];
    int fd, port, type;
    socklen_t len = sizeof type;
    if (nlisteners >= MAX_SPECS ||
        sscanf(spec, "%d:%7[a-z]:%63[0-9.]:%d", &fd, proto, ip, &port) != 4 ||
        port < 1 || port > 65535)
        usage();
    struct listener *l = &listeners[nlisteners++];
    int udp = strcmp(proto, "udp") == 0;
    if (!udp && strcmp(proto, "tcp") != 0)
        usage();
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
        die(spec);
    if (type != (udp ? SOCK_DGRAM : SOCK_STREAM)) {
        fprintf(stderr, "gbx-proxy: %s: fd %d is not a %s socket\n", spec, fd, proto);
        exit(2);
    }
    l->tag = (struct tag){ udp ? LISTEN_UDP : LISTEN_TCP, l };
    l->fd = fd;
    l->target.sin_family = AF_INET;
    l->target.sin_port = htons(port);
    if (inet_pton(AF_INET, ip, &l->target.sin_addr) != 1)
        usage();
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

int main(int argc, char **argv)
{
    int watch_pid = 0;
    unsigned long long watch_start = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--watch") == 0 && i + 1 < argc) {
            if (sscanf(argv[++i], "%d:%llu", &watch_pid, &watch_start) != 2)
                usage();
        } else if ((strcmp(argv[i], "--container") == 0 || strcmp(argv[i], "--owner") == 0)
                   && i + 1 < argc) {
            i++;  /* a label only */
        } else {
            add_spec(argv[i]);
        }
    }
    if (!nlisteners)
        usage();
    const char *env = getenv("GBX_PROXY_PIPE_BYTES");  /* for measuring */
    if (env && atoi(env) >= 4096)
        pipe_bytes = atoi(env);

    /* detach: the engine waits for our parent, then reads our pid */
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid > 0)
        _exit(0);
    prctl(PR_SET_NAME, "gbx-proxy");

    struct rlimit rl;  /* six fds per TCP connection: take what we may */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    int sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (sfd < 0 || ep < 0)
        die("epoll/signalfd");
    static struct tag sigtag = { SIGNALS, NULL };
    if (watch(sfd, EPOLLIN, &sigtag) < 0)
        die("epoll_ctl");
    for (int i = 0; i < nlisteners; i++)
        if (watch(listeners[i].fd, EPOLLIN, &listeners[i].tag) < 0)
            die("epoll_ctl");

    char line[32];
    int n = snprintf(line, sizeof line, "%d\n", (int)getpid());
    if (write(1, line, n) != n)
        die("write pid");
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, 1);
        close(null);
    }

    int64_t next_tick = now_ms() + WATCH_MS;
    int64_t next_pending = INT64_MAX;
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int64_t now = now_ms();
        int64_t wake = next_tick < next_pending ? next_tick : next_pending;
        int timeout = wake <= now ? 0 : (int)(wake - now);
        int ne = epoll_wait(ep, events, MAX_EVENTS, timeout);
        if (ne < 0 && errno != EINTR)
            die("epoll_wait");
        now = now_ms();
        for (int i = 0; i < ne; i++) {
            struct tag *t = events[i].data.ptr;
            switch (t->kind) {
            case SIGNALS:
                return 0;
            case LISTEN_TCP:
                on_accept(t->obj, now);
                break;
            case LISTEN_UDP:
                on_udp_client(t->obj, now);
                break;
            case CLIENT: {
                struct conn *c = t->obj;
                if (c->state == OPEN)
                    conn_pump(c);
                break;
            }
            case UPSTREAM:
                on_upstream(t->obj, now);
                break;
            case UDP_FLOW: {
                struct flow *f = t->obj;
                if (!f->dead)
                    on_udp_reply(f, now);
                break;
            }
            }
        }
        while (conn_graves) {
            struct conn *c = conn_graves;
            conn_graves = c->grave;
            free(c);
        }
        while (flow_graves) {
            struct flow *f = flow_graves;
            flow_graves = f->grave;
            free(f);
        }
        if (now >= next_tick) {
            next_tick = now + WATCH_MS;
            if (watch_pid) {
                long long st = start_time(watch_pid);
                if (st < 0 || (watch_start && (unsigned long long)st != watch_start))
                    return 0;
            }
            expire_flows(now);
            set_accepting(1);
        }
        next_pending = run_pending(now);
        /* connections closed by run_pending: free them now (no event refers to them) */
        while (conn_graves) {
            struct conn *c = conn_graves;
            conn_graves = c->grave;
            free(c);
        }
    }
}
