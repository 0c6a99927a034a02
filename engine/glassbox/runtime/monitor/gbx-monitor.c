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
 * usage: gbx-monitor PID LOG FD:STREAM... [--tty] [--stdin FIFO] [--health SPEC INTERVAL
 *                    TIMEOUT START-PERIOD START-INTERVAL RETRIES] -- FINALIZE-ARGV...
 *   PID        the container's first process (our child)
 *   LOG        path of container.log (opened for append)
 *   FD:STREAM  an inherited fd to read and the stream name (stdout|stderr)
 *   --tty      the first FD is the container's pty master: what it reads is logged
 *              as it comes, a partial line too (a shell's prompt has no newline, and
 *              `attach` follows the log: it must see the prompt before the user types)
 *   --stdin    (with --tty) the container's stdin FIFO (containers/stdin.py): what
 *              anyone writes into it (`attach`, the daemon's attach, `open_stdin`) is
 *              copied into the pty master, as typing on the container's terminal.
 *              Opened O_RDWR, so writers that come and go never make it read EOF.
 *   --health   run the container's healthcheck (health.c: the probe described
 *              in SPEC, durations in ms); state goes to health.json
 *   after "--" the command to exec when the container is gone; the exit code
 *   is appended as its last argument.
 *
 *        gbx-monitor --health-step STATUS STREAK IN-START-PERIOD RETRIES EXIT
 *   prints the health state after one probe result (the state machine alone,
 *   for the unit tests).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

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

/* JSON string body of data[0..n) into out (room for 6*n bytes); returns its length. */
static size_t json_escape(char *out, const char *data, size_t n) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)data[i];
        if (c == '"' || c == '\\') { out[o++] = '\\'; out[o++] = (char)c; }
        else if (c == '\n') { out[o++] = '\\'; out[o++] = 'n'; }
        else if (c == '\r') { out[o++] = '\\'; out[o++] = 'r'; }
        else if (c == '\t') { out[o++] = '\\'; out[o++] = 't'; }
        else if (c < 0x20) o += (size_t)snprintf(out + o, 7, "\\u%04x", c);
        else out[o++] = (char)c;
    }
    return o;
}

/* One json-file entry: {"log":"<escaped>","stream":"stdout","time":"..."} */
static void emit(const char *stream, const char *data, size_t n) {
    static char out[LINE_MAX_BYTES * 6 + 256];
    char ts[64];
    size_t o = 0;
    now_iso(ts, sizeof ts);
    o += (size_t)snprintf(out + o, sizeof out - o, "{\"log\":\"");
    o += json_escape(out + o, data, n);
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

/* ---- healthchecks ------------------------------------------------------------------
 * The container's HEALTHCHECK, run from here: between probes we sleep in poll()
 * like the rest of the monitor, so an idle container with a check costs nothing.
 * A probe is forked like `glassbox exec` (runtime/exec.py): join the cgroup and
 * the namespaces, fork into the PID namespace, become the container's user with
 * its capabilities, exec the command. Its output (first 4096 bytes) and exit code
 * feed Docker's state machine (health_step), written to health.json. */
#define HEALTH_OUT_MAX 4096
#define HEALTH_LOG 5
enum { H_STARTING, H_HEALTHY, H_UNHEALTHY };
static const char *const H_NAMES[] = {"starting", "healthy", "unhealthy"};

struct probe_result {
    char start[64], end[64];
    int code;
    char out[HEALTH_OUT_MAX];
    size_t outlen;
};

struct health {
    int on;
    long long interval, timeout, start_period, start_interval; /* ms */
    int retries;
    /* the probe, from the spec file */
    char *ns[8]; int nns;
    char *cg[16]; int ncg;
    char *frz;
    char **argv, **env;
    uid_t uid; gid_t gid; gid_t groups[64]; int ngroups;
    unsigned long long caps;
    int nnp;
    char *cwd, *error;
    struct sock_fprog seccomp;   /* the container's filter (len 0: none) */
    unsigned int seccomp_flags;
    /* the state */
    int status, streak, resumed;
    long long started, next_due, deadline, probe_started;
    pid_t probe, gpid;
    int pidfd, out_fd, gpid_fd, timed_out;
    struct probe_result cur, log[HEALTH_LOG];
    int nlog;
};

static long long mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Docker's rule for one result: a success makes it healthy and clears the
 * streak; a failure counts (unless still starting inside the start period) and
 * `retries` of them in a row make it unhealthy. */
static void health_step(int *status, int *streak, int in_start_period, int retries, int code) {
    if (code == 0) {
        *status = H_HEALTHY;
        *streak = 0;
        return;
    }
    if (*status == H_STARTING && in_start_period)
        return;
    (*streak)++;
    if (*streak >= retries)
        *status = H_UNHEALTHY;
}

/* The raw sock_filter array health.py wrote (8 bytes per instruction). */
static int seccomp_load(struct health *h, const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t cap = 1 << 15, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len == cap) { cap *= 2; buf = realloc(buf, cap); }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(fd);
    if (len == 0 || len % sizeof(struct sock_filter) || len / sizeof(struct sock_filter) > 65535)
        return -1;
    h->seccomp.len = (unsigned short)(len / sizeof(struct sock_filter));
    h->seccomp.filter = (struct sock_filter *)buf;
    return 0;
}

/* NUL-separated sections: TAG ITEM... "" (see containers/health.py). */
static int health_load(struct health *h, const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (len == cap) { cap *= 2; buf = realloc(buf, cap + 1); }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    size_t n = 0;
    for (size_t i = 0; i < len; i++) if (buf[i] == '\0') n++;
    char **tok = calloc(n + 2, sizeof *tok);
    size_t nt = 0;
    for (size_t i = 0; i < len; i += strlen(buf + i) + 1) tok[nt++] = buf + i;
    for (size_t i = 0; i < nt;) {
        const char *tag = tok[i++];
        size_t first = i;
        while (i < nt && tok[i][0] != '\0') i++;
        size_t k = i - first;
        char **items = tok + first;
        if (!strcmp(tag, "ns")) for (size_t j = 0; j < k && h->nns < 8; j++) h->ns[h->nns++] = items[j];
        else if (!strcmp(tag, "cg")) for (size_t j = 0; j < k && h->ncg < 16; j++) h->cg[h->ncg++] = items[j];
        else if (!strcmp(tag, "frz") && k) h->frz = items[0];
        else if (!strcmp(tag, "cwd") && k) h->cwd = items[0];
        else if (!strcmp(tag, "error") && k) h->error = items[0];
        else if (!strcmp(tag, "nnp") && k) h->nnp = atoi(items[0]);
        else if (!strcmp(tag, "resume") && k >= 2) {   /* a hand-over: the state so far */
            h->resumed = 1;
            h->status = atoi(items[0]);
            if (h->status < H_STARTING || h->status > H_UNHEALTHY) h->status = H_STARTING;
            h->streak = atoi(items[1]);
        }
        else if (!strcmp(tag, "log"))   /* START \t END \t CODE \t OUTPUT, oldest first */
            for (size_t j = 0; j < k && h->nlog < HEALTH_LOG; j++) {
                char *f[4] = {items[j], NULL, NULL, NULL};
                for (int q = 1; q < 4 && f[q - 1]; q++) {
                    char *tab = strchr(f[q - 1], '\t');
                    if (tab) { *tab = '\0'; f[q] = tab + 1; }
                }
                if (!f[3]) continue;
                struct probe_result *r = &h->log[h->nlog++];
                snprintf(r->start, sizeof r->start, "%s", f[0]);
                snprintf(r->end, sizeof r->end, "%s", f[1]);
                r->code = atoi(f[2]);
                r->outlen = strlen(f[3]) < HEALTH_OUT_MAX ? strlen(f[3]) : HEALTH_OUT_MAX;
                memcpy(r->out, f[3], r->outlen);
            }
        else if (!strcmp(tag, "caps") && k) h->caps = strtoull(items[0], NULL, 10);
        else if (!strcmp(tag, "seccomp") && k >= 2) {
            if (seccomp_load(h, items[0]) < 0) h->error = "healthcheck: cannot read the seccomp filter";
            h->seccomp_flags = (unsigned int)strtoul(items[1], NULL, 10);
        }
        else if (!strcmp(tag, "ids") && k >= 2) {
            h->uid = (uid_t)strtoul(items[0], NULL, 10);
            h->gid = (gid_t)strtoul(items[1], NULL, 10);
            for (size_t j = 2; j < k && h->ngroups < 64; j++)
                h->groups[h->ngroups++] = (gid_t)strtoul(items[j], NULL, 10);
        } else if (!strcmp(tag, "argv") || !strcmp(tag, "env")) {
            char **v = calloc(k + 1, sizeof *v);
            for (size_t j = 0; j < k; j++) v[j] = items[j];
            if (tag[0] == 'a') h->argv = v; else h->env = v;
        }
        i++;  /* the empty string that ends the section */
    }
    if (!h->argv || !h->argv[0]) return -1;
    if (!h->env) h->env = calloc(1, sizeof *h->env);
    return 0;
}

static void health_write(struct health *h) {
    static char out[HEALTH_LOG * (HEALTH_OUT_MAX * 6 + 256) + 256];
    size_t o = 0;
    o += (size_t)snprintf(out + o, sizeof out - o, "{\"Status\": \"%s\", \"FailingStreak\": %d, "
                          "\"Log\": [", H_NAMES[h->status], h->streak);
    for (int i = 0; i < h->nlog; i++) {
        struct probe_result *r = &h->log[i];
        o += (size_t)snprintf(out + o, sizeof out - o, "%s{\"Start\": \"%s\", \"End\": \"%s\", "
                              "\"ExitCode\": %d, \"Output\": \"", i ? ", " : "", r->start, r->end,
                              r->code);
        o += json_escape(out + o, r->out, r->outlen);
        o += (size_t)snprintf(out + o, sizeof out - o, "\"}");
    }
    o += (size_t)snprintf(out + o, sizeof out - o, "]}\n");
    int fd = open("health.json.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) return;
    write_all(fd, out, o);
    close(fd);
    rename("health.json.tmp", "health.json");
}

static int in_start_period(struct health *h, long long at) {
    return h->start_period > 0 && at - h->started < h->start_period;
}

static void health_schedule(struct health *h, long long now) {
    h->next_due = now + ((h->status == H_STARTING && in_start_period(h, now))
                         ? h->start_interval : h->interval);
}

static int container_paused(struct health *h) {
    if (!h->frz || !h->frz[0]) return 0;
    int fd = open(h->frz, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char c = 0;
    ssize_t r = read(fd, &c, 1);
    close(fd);
    return r == 1 && (c == 'F' || c == '1');   /* FROZEN / FREEZING (v1), 1 (v2) */
}

/* A user namespace with a single-id map denies setgroups (rootless without
 * subordinate ids): /proc/self/setgroups says "deny". */
static int setgroups_denied(void) {
    char buf[8] = {0};
    int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t r = read(fd, buf, sizeof buf - 1);
    close(fd);
    return r >= 4 && strncmp(buf, "deny", 4) == 0;
}

static char *args_area;       /* our argv strings, to blank in a probe (see probe_child) */
static size_t args_len;

/* In the probe's first child: join the container, fork into its PID namespace. */
static void probe_child(struct health *h, pid_t cpid, int out_w, int gpid_w) {
    /* Until it execs, the probe is visible in the container's `ps`: show a name,
     * not our argv (host paths of the state root). */
    if (args_area && args_len > 10) {
        memset(args_area, 0, args_len);
        memcpy(args_area, "gbx-probe", 9);
    }
    prctl(PR_SET_NAME, "gbx-probe", 0, 0, 0);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGTERM, SIG_DFL);   /* the restart loop leaves it ignored while we run */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    for (int i = 0; i < h->ncg; i++) {
        int fd = open(h->cg[i], O_WRONLY | O_CLOEXEC);
        if (fd >= 0) { write_all(fd, "0", 1); close(fd); }
    }
    int nsfd[8];
    char path[64];
    for (int i = 0; i < h->nns; i++) {
        snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)cpid, h->ns[i]);
        nsfd[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (nsfd[i] < 0) { dprintf(out_w, "cannot open %s: %s", path, strerror(errno)); _exit(126); }
    }
    for (int i = 0; i < h->nns; i++) {
        if (setns(nsfd[i], 0) < 0) {
            dprintf(out_w, "setns %s: %s", h->ns[i], strerror(errno));
            _exit(126);
        }
        close(nsfd[i]);
    }
    pid_t g = fork();
    if (g < 0) _exit(126);
    if (g == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);   /* the monitor killed our parent: die */
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null >= 0) dup2(null, 0);
        dup2(out_w, 1);
        dup2(out_w, 2);
        if (chdir("/") < 0 || (h->cwd && chdir(h->cwd) < 0)) {
            dprintf(2, "cannot enter working directory %s: %s", h->cwd, strerror(errno));
            _exit(126);
        }
        for (int c = 0; c < 64; c++)
            if (!(h->caps & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno == EINVAL)
                break;   /* past the kernel's last capability */
        /* in a rootless container's user namespace with a single-id map, setgroups is
         * denied (/proc/self/setgroups says "deny"): the groups stay what they are */
        if ((setgroups((size_t)h->ngroups, h->groups) < 0 && !(errno == EPERM && setgroups_denied())) ||
            setgid(h->gid) < 0) {
            dprintf(2, "cannot set groups: %s", strerror(errno));
            _exit(126);
        }
        if (h->uid == 0) {
            struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
            struct __user_cap_data_struct data[2];
            memset(data, 0, sizeof data);
            for (int k = 0; k < 2; k++) {
                data[k].effective = data[k].permitted = (uint32_t)(h->caps >> (32 * k));
            }
            if (syscall(SYS_capset, &hdr, data) < 0) {
                dprintf(2, "capset: %s", strerror(errno));
                _exit(126);
            }
        }
        if (h->nnp) prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        if (setuid(h->uid) < 0) { dprintf(2, "setuid: %s", strerror(errno)); _exit(126); }
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        syscall(SYS_close_range, 3U, ~0U, 0U);
        /* last of all, as exec's seal_for_exec: the container's seccomp filter */
        if (h->seccomp.len &&
            syscall(SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, h->seccomp_flags, &h->seccomp) < 0) {
            dprintf(2, "seccomp: %s", strerror(errno));
            _exit(126);
        }
        environ = h->env;
        execvp(h->argv[0], h->argv);
        int e = errno;
        dprintf(2, "exec: \"%s\": %s", h->argv[0], strerror(e));
        _exit(e == ENOENT ? 127 : 126);
    }
    write_all(gpid_w, (const char *)&g, sizeof g);
    close(gpid_w);
    close(out_w);
    int st = 0;
    while (waitpid(g, &st, 0) < 0)
        if (errno != EINTR) _exit(126);
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

static void probe_start(struct health *h, pid_t cpid) {
    struct probe_result *r = &h->cur;
    r->code = 0;
    r->outlen = 0;
    r->end[0] = '\0';
    now_iso(r->start, sizeof r->start);
    h->probe_started = mono_ms();
    h->timed_out = 0;
    h->gpid = 0;
    if (h->error) {  /* it cannot run at all (e.g. an unknown user): each probe says so */
        r->code = -1;
        r->outlen = (size_t)snprintf(r->out, sizeof r->out, "%s", h->error);
        h->probe = -1;
        return;
    }
    int outp[2], gp[2];
    if (pipe2(outp, O_CLOEXEC) < 0) { h->probe = 0; return; }
    if (pipe2(gp, O_CLOEXEC) < 0) { close(outp[0]); close(outp[1]); h->probe = 0; return; }
    pid_t c = fork();
    if (c == 0) {
        close(outp[0]);
        close(gp[0]);
        probe_child(h, cpid, outp[1], gp[1]);
    }
    close(outp[1]);
    close(gp[1]);
    if (c < 0) { close(outp[0]); close(gp[0]); h->probe = 0; return; }
    h->probe = c;
    h->out_fd = outp[0];
    h->gpid_fd = gp[0];
    fcntl(h->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(h->gpid_fd, F_SETFL, O_NONBLOCK);
    h->pidfd = (int)syscall(SYS_pidfd_open, c, 0);
    h->deadline = mono_ms() + h->timeout;
}

static void probe_read(struct health *h) {
    char tmp[4096];
    for (;;) {
        ssize_t r = read(h->out_fd, tmp, sizeof tmp);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return;
        size_t room = sizeof h->cur.out - h->cur.outlen;
        size_t k = (size_t)r < room ? (size_t)r : room;
        memcpy(h->cur.out + h->cur.outlen, tmp, k);
        h->cur.outlen += k;
    }
}

/* SIGKILL every process of the container (its cgroup.procs) in process group
 * `pgid` except the group's leader; how many were found. */
static int kill_group_members(struct health *h, pid_t pgid) {
    if (h->ncg == 0) return 0;
    FILE *f = fopen(h->cg[0], "re");
    if (!f) return 0;
    int found = 0, p;
    while (fscanf(f, "%d", &p) == 1) {
        if (p == pgid) continue;
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%d/stat", p);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0) continue;
        buf[n] = '\0';
        char *rp = strrchr(buf, ')');
        int ppid = 0, pgrp = 0;
        char state = 0;
        if (rp && sscanf(rp + 1, " %c %d %d", &state, &ppid, &pgrp) == 3 && pgrp == pgid &&
            state != 'Z') {
            kill(p, SIGKILL);
            found++;
        }
    }
    fclose(f);
    return found;
}

static void probe_kill(struct health *h) {
    if (h->probe <= 0) return;
    if (!h->gpid) {
        pid_t g;
        if (read(h->gpid_fd, &g, sizeof g) == (ssize_t)sizeof g) h->gpid = g;
    }
    /* Kill from the leaves up, so each process is reaped by its own parent: an
     * orphan would be reparented to the container's pid 1, which (without
     * --init) never reaps it. First the members of the command's process group
     * but its leader (the shell of CMD-SHELL reaps them and exits), or the
     * leader alone; its parent, our child outside the PID namespace, reaps it.
     * A second deadline later: the whole group and our child at once. */
    if (h->timed_out) {
        if (h->gpid > 0) kill(-h->gpid, SIGKILL);
        kill(h->probe, SIGKILL);
    } else if (h->gpid > 0) {
        kill(-h->gpid, SIGSTOP);     /* the group holds still: no fork slips past the scan */
        if (kill_group_members(h, h->gpid)) kill(h->gpid, SIGCONT);   /* it reaps them */
        else kill(h->gpid, SIGKILL);
    } else {
        kill(h->probe, SIGKILL);   /* not forked yet: its death takes the rest (PDEATHSIG) */
    }
    h->timed_out = 1;
}

/* The probe's first child is gone (or it never ran): record, step, reschedule. */
static void probe_done(struct health *h) {
    struct probe_result *r = &h->cur;
    if (h->probe > 0) {
        int st = 0;
        while (waitpid(h->probe, &st, 0) < 0 && errno == EINTR) {}
        probe_read(h);
        close(h->out_fd);
        close(h->gpid_fd);
        if (h->pidfd >= 0) close(h->pidfd);
        r->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (h->timed_out) {
            long long t = h->timeout;
            r->code = -1;
            if (t % 1000 == 0)
                r->outlen = (size_t)snprintf(r->out, sizeof r->out,
                                             "Health check exceeded timeout (%llds)", t / 1000);
            else
                r->outlen = (size_t)snprintf(r->out, sizeof r->out,
                                             "Health check exceeded timeout (%lldms)", t);
        }
    }
    h->probe = 0;
    h->pidfd = h->out_fd = h->gpid_fd = -1;
    now_iso(r->end, sizeof r->end);
    long long now = mono_ms();
    health_step(&h->status, &h->streak, in_start_period(h, h->probe_started), h->retries,
                r->code);
    if (h->nlog == HEALTH_LOG) {
        memmove(&h->log[0], &h->log[1], sizeof h->log[0] * (HEALTH_LOG - 1));
        h->nlog--;
    }
    h->log[h->nlog++] = *r;
    health_write(h);
    health_schedule(h, now);
}

static int health_step_main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: gbx-monitor --health-step STATUS STREAK IN-START RETRIES EXIT\n");
        return 2;
    }
    int status = H_STARTING;
    for (int i = 0; i < 3; i++) if (!strcmp(argv[2], H_NAMES[i])) status = i;
    int streak = atoi(argv[3]);
    health_step(&status, &streak, atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
    printf("%s %d\n", H_NAMES[status], streak);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--health-step"))
        return health_step_main(argc, argv);
    /* --watch PID --health ...: only the healthcheck, beside the Python shim of an
     * attached container (it copies the output itself); ends when PID does. */
    int watch = argc > 2 && !strcmp(argv[1], "--watch");
    if (argc < 5) {
        fprintf(stderr, "usage: gbx-monitor PID LOG FD:STREAM... [--tty] [--stdin FIFO] -- FINALIZE...\n"
                        "       gbx-monitor --watch PID --health ...\n");
        return 125;
    }
    pid_t pid = (pid_t)atoi(argv[watch ? 2 : 1]);
    if (!watch)
        log_fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    struct stream streams[MAXFD];
    static struct health h;
    int ns = 0, i = 3, tty = 0, in_fd = -1;
    if (watch) {   /* the container's pidfd as a pseudo-stream: readable (EOF) at its exit */
        streams[0].fd = (int)syscall(SYS_pidfd_open, pid, 0);
        streams[0].name = "";
        streams[0].len = 0;
        if (streams[0].fd < 0) return 125;
        ns = 1;
    }
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (!strcmp(argv[i], "--tty")) { tty = 1; continue; }
        if (!strcmp(argv[i], "--stdin") && i + 1 < argc) {
            in_fd = open(argv[++i], O_RDWR | O_NONBLOCK | O_CLOEXEC);
            continue;
        }
        if (!strcmp(argv[i], "--health") && i + 6 < argc) {
            h.on = 1;
            if (health_load(&h, argv[i + 1]) < 0)   /* every probe says so in State.Health */
                h.error = "healthcheck: cannot read the probe's description (health.probe)";
            h.interval = atoll(argv[i + 2]);
            h.timeout = atoll(argv[i + 3]);
            h.start_period = atoll(argv[i + 4]);
            h.start_interval = atoll(argv[i + 5]);
            h.retries = atoi(argv[i + 6]);
            if (h.interval < 1) h.interval = 1;
            if (h.timeout < 1) h.timeout = 1;
            if (h.start_interval < 1) h.start_interval = 1;
            if (h.retries < 1) h.retries = 1;
            i += 6;
            continue;
        }
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
    if (h.on) {   /* what a probe's copy of us blanks before it is seen in the container */
        args_area = argv[0];
        args_len = (size_t)(argv[argc - 1] + strlen(argv[argc - 1]) - argv[0]);
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    if (h.on) {
        h.pidfd = h.out_fd = h.gpid_fd = -1;
        h.started = mono_ms();
        if (!h.resumed)
            h.status = H_STARTING;
        else if (h.status != H_STARTING)   /* a result came: the start period is over */
            h.started -= h.start_period;
        health_write(&h);
        health_schedule(&h, h.started);
    }

    /* the stdin copy: a chunk read from the FIFO waits here until the pty takes it
     * (a program that does not read fills the pty's buffer: we stop reading the FIFO,
     * so its writers block, instead of dropping keys or blocking the log) */
    int master = (tty && ns > 0 && !watch) ? streams[0].fd : -1;
    if (master < 0 && in_fd >= 0) { close(in_fd); in_fd = -1; }
    if (master >= 0) fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    static char inbuf[4096];
    size_t inlen = 0, inoff = 0;

    struct pollfd pfd[MAXFD + 3];
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
        int nfds = ns + 3, timeout = -1;
        pfd[ns].fd = pfd[ns + 1].fd = -1;
        pfd[ns].events = pfd[ns + 1].events = POLLIN;
        pfd[ns].revents = pfd[ns + 1].revents = 0;
        /* the stdin slot: the FIFO while nothing waits, else the master's room */
        pfd[ns + 2].fd = in_fd < 0 ? -1 : (inlen > inoff ? master : in_fd);
        pfd[ns + 2].events = inlen > inoff ? POLLOUT : POLLIN;
        pfd[ns + 2].revents = 0;
        if (h.on) {   /* the probe's exit (pidfd) and output, and the next deadline */
            pfd[ns].fd = h.probe > 0 ? h.pidfd : -1;
            pfd[ns + 1].fd = h.probe > 0 ? h.out_fd : -1;
            long long due = h.probe > 0 ? h.deadline : h.next_due;
            if (h.probe > 0 && h.pidfd < 0) due = mono_ms() + 20;  /* no pidfd: look again soon */
            long long wait = due - mono_ms();
            timeout = wait < 0 ? 0 : (wait > 3600000 ? 3600000 : (int)wait);
        }
        if (poll(pfd, (nfds_t)nfds, timeout) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int j = 0; j < ns; j++) {
            if (streams[j].fd < 0 || !(pfd[j].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t r = read(streams[j].fd, data, sizeof data);
            if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (r <= 0) {  /* EOF, or EIO from a pty whose last slave closed */
                if (streams[j].len) { emit(streams[j].name, streams[j].buf, streams[j].len);
                                      streams[j].len = 0; }
                if (streams[j].fd == master) {   /* no terminal left to type into */
                    master = -1;
                    if (in_fd >= 0) { close(in_fd); in_fd = -1; }
                }
                close(streams[j].fd);
                streams[j].fd = -1;
                open_count--;
                continue;
            }
            feed(&streams[j], data, (size_t)r);
            if (tty && streams[j].fd == master && streams[j].len) {   /* the prompt, now */
                emit(streams[j].name, streams[j].buf, streams[j].len);
                streams[j].len = 0;
            }
        }
        if (in_fd >= 0 && (pfd[ns + 2].revents & (POLLIN | POLLOUT | POLLERR | POLLHUP))) {
            if (inlen == inoff) {
                ssize_t r = read(in_fd, inbuf, sizeof inbuf);
                if (r > 0) { inlen = (size_t)r; inoff = 0; }
            }
            while (inlen > inoff) {
                ssize_t w = write(master, inbuf + inoff, inlen - inoff);
                if (w < 0 && errno == EINTR) continue;
                if (w < 0 && errno == EAGAIN) break;   /* the pty is full: poll for room */
                if (w <= 0) { inlen = inoff = 0; break; }   /* gone: drop it */
                inoff += (size_t)w;
            }
            if (inoff == inlen) inlen = inoff = 0;
        }
        if (!h.on) continue;
        if (h.probe > 0 && (pfd[ns + 1].revents & (POLLIN | POLLHUP)))
            probe_read(&h);
        if (h.probe > 0) {
            int exited = (pfd[ns].revents & POLLIN) != 0;
            if (h.pidfd < 0) {  /* no pidfd: peek without reaping */
                siginfo_t si;
                si.si_pid = 0;
                exited = waitid(P_PID, (id_t)h.probe, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
                         si.si_pid == h.probe;
            }
            if (exited) probe_done(&h);
            else if (mono_ms() >= h.deadline) {
                probe_kill(&h);
                h.deadline = mono_ms() + 1000;   /* its parent gets a second to reap it */
            }
        } else if (mono_ms() >= h.next_due && open_count > 0) {
            if (container_paused(&h)) health_schedule(&h, mono_ms());
            else {
                probe_start(&h, pid);
                if (h.probe < 0) probe_done(&h);   /* could not run: a failed result */
                else if (h.probe == 0) health_schedule(&h, mono_ms());
            }
        }
    }
    if (in_fd >= 0) close(in_fd);
    if (h.on && h.probe > 0) {  /* the container is gone: so is any probe still in it */
        probe_kill(&h);
        while (waitpid(h.probe, NULL, 0) < 0 && errno == EINTR) {}
    }
    if (watch)
        return 0;   /* the container is the shim's child, not ours: nothing more to do */
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
