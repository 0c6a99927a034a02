/*
 * gbx-monitor: the long-lived half of a detached container's shim.
 *
 * The Python shim sets the container up (cgroup, namespaces, rootfs, exec) and
 * then exec()s this small program in its place, keeping its pid, so that a
 * detached container costs the host a few hundred kB instead of a whole Python
 * interpreter. It only copies the container's output into the JSON-lines log
 * (Docker's json-file format) and waits for the exit; then it exec()s Python
 * once more to record the OOM kill and clean up. The exit code itself it writes
 * to exit.json at once, so waiting for a container does not wait for Python.
 *
 * usage: gbx-monitor PID LOG FD:STREAM... -- FINALIZE-ARGV...
 *   PID        the container's first process (our child)
 *   LOG        path of container.log (opened for append)
 *   FD:STREAM  an inherited fd to read and the stream name (stdout|stderr)
 *   after "--" the command to exec when the container is gone; the exit code
 *   is appended as its last argument.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAXFD 4
#define LINE_MAX_BYTES (16 * 1024)

struct stream {
    int fd;
    const char *name;
    char buf[LINE_MAX_BYTES];
    size_t len;
};

static int log_fd = -1;

static void now_iso(char *out, size_t n) {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + k, n - k, ".%09ldZ", ts.tv_nsec);
}

static void write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

/* One json-file entry: {"log":"<escaped>","stream":"stdout","time":"..."} */
static void emit(const char *stream, const char *data, size_t n) {
    static char out[LINE_MAX_BYTES * 6 + 256];
    char ts[64];
    size_t o = 0;
    now_iso(ts, sizeof ts);
    o += (size_t)snprintf(out + o, sizeof out - o, "{\"log\":\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)data[i];
        if (c == '"' || c == '\\') { out[o++] = '\\'; out[o++] = (char)c; }
        else if (c == '\n') { out[o++] = '\\'; out[o++] = 'n'; }
        else if (c == '\r') { out[o++] = '\\'; out[o++] = 'r'; }
        else if (c == '\t') { out[o++] = '\\'; out[o++] = 't'; }
        else if (c < 0x20) o += (size_t)snprintf(out + o, sizeof out - o, "\\u%04x", c);
        else out[o++] = (char)c;
    }
    o += (size_t)snprintf(out + o, sizeof out - o, "\",\"stream\":\"%s\",\"time\":\"%s\"}\n",
                          stream, ts);
    write_all(log_fd, out, o);
}

static void feed(struct stream *s, const char *data, size_t n) {
    for (size_t i = 0; i < n; i++) {
        s->buf[s->len++] = data[i];
        if (data[i] == '\n' || s->len == sizeof s->buf) {
            emit(s->name, s->buf, s->len);
            s->len = 0;
        }
    }
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: gbx-monitor PID LOG FD:STREAM... -- FINALIZE...\n");
        return 125;
    }
    pid_t pid = (pid_t)atoi(argv[1]);
    log_fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    struct stream streams[MAXFD];
    int ns = 0, i = 3;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (ns == MAXFD) continue;
        char *colon = strchr(argv[i], ':');
        if (!colon) continue;
        *colon = '\0';
        streams[ns].fd = atoi(argv[i]);
        streams[ns].name = colon + 1;
        streams[ns].len = 0;
        fcntl(streams[ns].fd, F_SETFD, FD_CLOEXEC);
        ns++;
    }
    char **finalize = (i < argc) ? argv + i + 1 : NULL;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);

    struct pollfd pfd[MAXFD];
    int open_count = ns;
    char data[65536];
    while (open_count > 0) {
        int k = 0;
        for (int j = 0; j < ns; j++) {
            pfd[j].fd = streams[j].fd;
            pfd[j].events = POLLIN;
            pfd[j].revents = 0;
            if (streams[j].fd >= 0) k++;
        }
        if (k == 0) break;
        if (poll(pfd, (nfds_t)ns, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int j = 0; j < ns; j++) {
            if (streams[j].fd < 0 || !(pfd[j].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t r = read(streams[j].fd, data, sizeof data);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {  /* EOF, or EIO from a pty whose last slave closed */
                if (streams[j].len) { emit(streams[j].name, streams[j].buf, streams[j].len);
                                      streams[j].len = 0; }
                close(streams[j].fd);
                streams[j].fd = -1;
                open_count--;
                continue;
            }
            feed(&streams[j], data, (size_t)r);
        }
    }
    int status = 0, code = 125;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) { status = -1; break; }
    }
    if (status != -1)
        code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (log_fd >= 0) close(log_fd);
    /* Tell the world now (exit.json in our cwd, the container's directory),
       before Python starts up again to clean up: `wait` need not wait for that. */
    {
        char ts[64], buf[160];
        now_iso(ts, sizeof ts);
        int n = snprintf(buf, sizeof buf, "{\"ExitCode\": %d, \"FinishedAt\": \"%s\"}\n",
                         code, ts);
        int fd = open("exit.json.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        if (fd >= 0) {
            write_all(fd, buf, (size_t)n);
            close(fd);
            rename("exit.json.tmp", "exit.json");
        }
    }
    if (finalize && finalize[0]) {
        int n = 0;
        while (finalize[n]) n++;
        char **args = calloc((size_t)n + 2, sizeof *args);
        char codebuf[16];
        snprintf(codebuf, sizeof codebuf, "%d", code);
        for (int j = 0; j < n; j++) args[j] = finalize[j];
        args[n] = codebuf;
        execv(args[0], args);
    }
    return code;
}
