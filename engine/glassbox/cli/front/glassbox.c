/*
 * glassbox: the command's compiled front door.
 *
 * Starting CPython costs 10-20 ms before a single line of glassbox runs; the
 * warm agent (glassbox/cli/agent.py) already has everything imported and forks
 * a child per command. This ~20 kB program is the thin client of that agent:
 * when one answers on its socket (agent_socket(): $GLASSBOX_ROOT/agent.sock, or an
 * ordinary user's runtime directory) it sends the command line, the
 * working directory and the environment, hands over its stdin/stdout/stderr
 * (SCM_RIGHTS), forwards Ctrl-C and friends to the child that runs the command,
 * and exits with its code. In every other case it exec()s Python with the very
 * same arguments, so without an agent nothing changes (one exec more, ~1 ms).
 *
 * The rules for "every other case" mirror agent.try_client() exactly: no agent
 * socket, GLASSBOX_AGENT=0, a remote daemon (-H/--host, GLASSBOX_HOST), the
 * commands that own the terminal or are long-lived themselves.
 *
 * Wire format (agent.py's REQUEST / REPLY):
 *   request  u32 length (network order), then u32 argc, u32 envc (network
 *            order), then NUL-terminated strings: cwd, argv..., env...
 *   replies  8 bytes: u32 kind ('P' child pid, 'X' exit code), i32 value
 *
 * Built by the set-up (python -m glassbox.cli.front) with the venv's Python
 * path compiled in (-DGLASSBOX_PYTHON=...).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef GLASSBOX_PYTHON
#error "build with -DGLASSBOX_PYTHON=\"/path/to/venv/bin/python\""
#endif

extern char **environ;

static const char BOOT[] =
    "import sys; sys.argv[0] = 'glassbox'; "
    "from glassbox.cli.main import main; main()";

/* Run the command in a fresh interpreter instead (what happens without an agent). */
static void fallback(int argc, char **argv)
{
    char **args = calloc((size_t)argc + 4, sizeof *args);
    if (!args) {
        perror("glassbox");
        exit(125);
    }
    args[0] = GLASSBOX_PYTHON;
    args[1] = "-c";
    args[2] = (char *)BOOT;
    for (int i = 1; i < argc; i++)
        args[i + 2] = argv[i];
    execv(GLASSBOX_PYTHON, args);
    fprintf(stderr, "glassbox: cannot start %s: %s\n", GLASSBOX_PYTHON, strerror(errno));
    exit(125);
}

static int is(const char *a, const char *b) { return strcmp(a, b) == 0; }

/* run -t / exec -it ...: the command needs our controlling terminal (agent._wants_terminal). */
static int wants_terminal(int argc, char **argv)
{
    const char *first = NULL;
    for (int i = 1; i < argc; i++)
        if (argv[i][0] != '-') {
            first = argv[i];
            break;
        }
    if (!first || !(is(first, "run") || is(first, "create") || is(first, "exec") || is(first, "start")))
        return 0;
    for (int i = 1; i < argc; i++) {
        const char *w = argv[i];
        if (is(w, "--"))
            break;
        if (is(w, "--tty"))
            return 1;
        if (w[0] == '-' && w[1] && w[1] != '-') {
            int alpha = 1, has_t = 0;
            for (const char *c = w + 1; *c; c++) {
                if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')))
                    alpha = 0;
                if (*c == 't')
                    has_t = 1;
            }
            if (alpha && has_t)
                return 1;
        }
    }
    return 0;
}

/* Must this command line run in-process (agent.try_client's rules)? */
static int in_process(int argc, char **argv)
{
    const char *agent = getenv("GLASSBOX_AGENT");
    const char *host = getenv("GLASSBOX_HOST");
    if (argc < 2 || (agent && is(agent, "0")) || (host && *host))
        return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (is(a, "-H") || is(a, "--host") || is(a, "agent") || is(a, "daemon") || is(a, "login"))
            return 1;
    }
    return wants_terminal(argc, argv);
}

static const char *state_root(int argc, char **argv, int *is_default)
{
    *is_default = 0;
    for (int i = 1; i < argc; i++)
        if (is(argv[i], "--root"))
            return i + 1 < argc ? argv[i + 1] : NULL;
    const char *r = getenv("GLASSBOX_ROOT");
    if (r && *r)
        return r;
    *is_default = 1;
    if (geteuid() == 0)
        return "/var/lib/glassbox";
    /* rootless (issue 14): the user's own root, as glassbox.rootless.paths.state_root */
    static char buf[4096];
    const char *data = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    if (data && data[0] == '/')
        snprintf(buf, sizeof buf, "%s/glassbox", data);
    else if (home && *home)
        snprintf(buf, sizeof buf, "%s/.local/share/glassbox", home);
    else
        return NULL;   /* Python finds it (passwd) */
    return buf;
}

/* The agent's socket, as agent.socket_path(): <root>/agent.sock, but for an ordinary
 * user's own default root their runtime directory ($XDG_RUNTIME_DIR/glassbox, else
 * /tmp/glassbox-<uid>) — and only when that directory is theirs and 0700: someone
 * else's could hold a fake agent that would be handed our argv, env and terminal. */
static int agent_socket(char *out, size_t n, const char *root, int is_default)
{
    if (is_default && geteuid() != 0) {
        char dir[4096];
        const char *x = getenv("XDG_RUNTIME_DIR");
        if (x && x[0] == '/')
            snprintf(dir, sizeof dir, "%s/glassbox", x);
        else
            snprintf(dir, sizeof dir, "/tmp/glassbox-%u", (unsigned)geteuid());
        struct stat st;
        if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
            (st.st_mode & 077))
            return -1;
        return snprintf(out, n, "%s/agent.sock", dir) >= (int)n ? -1 : 0;
    }
    if (!root)
        return -1;
    return snprintf(out, n, "%s/agent.sock", root) >= (int)n ? -1 : 0;
}

static int connect_agent(const char *root, int is_default)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (agent_socket(sa.sun_path, sizeof sa.sun_path, root, is_default) < 0)
        return -1;
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(s);
        return -1;
    }
    return s;
}

/* Append a NUL-terminated string to the growing request buffer. */
static int put(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s) + 1;
    if (*len + n > *cap) {
        size_t want = *cap * 2;
        while (want < *len + n)
            want *= 2;
        char *b = realloc(*buf, want);
        if (!b)
            return -1;
        *buf = b;
        *cap = want;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    return 0;
}

static int send_request(int s, int argc, char **argv)
{
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd))
        return -1;
    size_t envc = 0;
    while (environ[envc])
        envc++;
    size_t len = 12, cap = 4096;  /* the 12-byte header is filled in last */
    char *buf = malloc(cap);
    if (!buf)
        return -1;
    int bad = put(&buf, &len, &cap, cwd) < 0;
    for (int i = 1; i < argc && !bad; i++)
        bad = put(&buf, &len, &cap, argv[i]) < 0;
    for (size_t i = 0; i < envc && !bad; i++)
        bad = put(&buf, &len, &cap, environ[i]) < 0;
    if (bad) {
        free(buf);
        return -1;
    }
    uint32_t head[3] = {htonl((uint32_t)(len - 4)), htonl((uint32_t)(argc - 1)), htonl((uint32_t)envc)};
    memcpy(buf, head, sizeof head);

    int fds[3] = {0, 1, 2};
    char ctl[CMSG_SPACE(sizeof fds)];
    memset(ctl, 0, sizeof ctl);
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof fds);
    memcpy(CMSG_DATA(c), fds, sizeof fds);

    ssize_t n = sendmsg(s, &msg, MSG_NOSIGNAL);
    size_t done = n > 0 ? (size_t)n : 0;
    while (n >= 0 && done < len) {  /* the fds went with the first bytes */
        n = send(s, buf + done, len - done, MSG_NOSIGNAL);
        if (n > 0)
            done += (size_t)n;
        else if (n < 0 && errno == EINTR)
            n = 0;
    }
    free(buf);
    return done == len ? 0 : -1;
}

/* One 8-byte reply; 0 on success. */
static int reply(int s, uint32_t *kind, int32_t *value)
{
    unsigned char b[8];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = read(s, b + got, sizeof b - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    uint32_t k, v;
    memcpy(&k, b, 4);
    memcpy(&v, b + 4, 4);
    *kind = ntohl(k);
    *value = (int32_t)ntohl(v);
    return 0;
}

static volatile pid_t child;

static void forward(int sig)
{
    if (child > 0)
        kill(child, sig);
}

int main(int argc, char **argv)
{
    if (in_process(argc, argv))
        fallback(argc, argv);
    int is_default;
    const char *root = state_root(argc, argv, &is_default);
    int s = connect_agent(root, is_default);
    if (s < 0)
        fallback(argc, argv);
    uint32_t kind;
    int32_t value;
    if (send_request(s, argc, argv) < 0 || reply(s, &kind, &value) < 0 || kind != 'P') {
        close(s);  /* nothing ran yet: the interpreter does it */
        fallback(argc, argv);
    }
    child = value;
    struct sigaction sa = {.sa_handler = forward};
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        sigaction(sigs[i], &sa, NULL);
    if (reply(s, &kind, &value) < 0 || kind != 'X')
        return 125;
    return value & 0xff;
}
