/* gbx-probe: the escape corpus. Run as a container's root, it tries, one by one,
 * the things a container must not be able to do to its host, and prints one line
 * per attempt:
 *
 *     name <TAB> blocked|allowed|skipped <TAB> detail
 *
 * "blocked": the kernel, a capability, the devices cgroup, a read-only or masked
 * mount, or a seccomp filter said no (the detail names the errno, e.g. EPERM).
 * "allowed": the attempt got past every guard. Every attempt is harmless when it
 * is allowed: devices are opened and closed, nothing is written to /proc or /sys
 * (opened O_WRONLY and closed), kexec_load/init_module/bpf/perf_event_open/
 * clock_settime/clock_adjtime get arguments the kernel rejects only *after* its
 * permission checks (so EINVAL/ENOEXEC/ENOENT mean "got through"), namespaces are
 * entered by a throw-away child, personality is put back.
 *
 * Built static (``python -m glassbox.probe``) so it runs in any image, busybox's
 * included. Usage: gbx-probe [--block MAJ:MIN]   (default: the first disk in
 * /sys/dev/block that is not a loop or ram device).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/perf_event.h>

static const char *ename(int e)
{
    switch (e) {
    case 0: return "ok";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case EROFS: return "EROFS";
    case ENOSYS: return "ENOSYS";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case ENOENT: return "ENOENT";
    case ENXIO: return "ENXIO";
    case ENODEV: return "ENODEV";
    case ENOEXEC: return "ENOEXEC";
    case EBUSY: return "EBUSY";
    case ETXTBSY: return "ETXTBSY";
    case ESRCH: return "ESRCH";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case ENOSPC: return "ENOSPC";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: {
        static char buf[32];
        snprintf(buf, sizeof buf, "errno%d", e);
        return buf;
    }
    }
}

static void report(const char *name, const char *verdict, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(const char *name, const char *verdict, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    printf("%s\t%s\t%s\n", name, verdict, detail);
    fflush(stdout);
}

/* A refusal: a permission errno, or a syscall this kernel (or a filter) does not offer. */
static int refused(int e)
{
    return e == EPERM || e == EACCES || e == EROFS || e == ENOSYS;
}

/* A syscall given arguments the kernel rejects after its permission checks:
 * `ok_errno` (or success) means it got through every guard. */
static void syscall_verdict(const char *name, long rc, int e)
{
    if (rc >= 0)
        report(name, "allowed", "ok");
    else
        report(name, refused(e) ? "blocked" : "allowed", "%s", ename(e));
}

/* ---- fds inherited from whoever started us ------------------------------------ */
static void inherited_fds(void)
{
    char found[400] = "";
    DIR *d = opendir("/proc/self/fd");
    if (!d) {
        report("inherited-fds", "skipped", "/proc/self/fd: %s", ename(errno));
        return;
    }
    int own = dirfd(d), n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        int fd = atoi(de->d_name);
        if (de->d_name[0] == '.' || fd <= 2 || fd == own)
            continue;
        char path[64], target[256];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        ssize_t len = readlink(path, target, sizeof target - 1);
        target[len > 0 ? len : 0] = 0;
        size_t used = strlen(found);
        snprintf(found + used, sizeof found - used, "%s%d->%s", n++ ? "," : "", fd, target);
    }
    closedir(d);
    if (n)
        report("inherited-fds", "allowed", "%s", found);
    else
        report("inherited-fds", "blocked", "none above 2");
}

/* ---- device nodes: mknod is allowed (as Docker), opening must not be ----------- */
static void device(const char *name, mode_t type, int major, int minor, int flags)
{
    char path[64];
    snprintf(path, sizeof path, "/dev/.gbx-probe-%d-%s", (int)getpid(), name);
    if (mknod(path, type | 0600, makedev(major, minor)) < 0) {
        int e = errno;
        report(name, refused(e) ? "blocked" : "skipped", "mknod %c %d:%d: %s",
               type == S_IFBLK ? 'b' : 'c', major, minor, ename(e));
        return;
    }
    int fd = open(path, flags | O_NONBLOCK | O_CLOEXEC);
    int e = errno;
    unlink(path);
    if (fd >= 0) {
        close(fd);
        report(name, "allowed", "opened %c %d:%d", type == S_IFBLK ? 'b' : 'c', major, minor);
    } else if (refused(e)) {
        report(name, "blocked", "open %c %d:%d: %s", type == S_IFBLK ? 'b' : 'c', major, minor,
               ename(e));
    } else {   /* past the devices cgroup; the host simply has no such device */
        report(name, "allowed", "open %c %d:%d: %s (no such device, not refused)",
               type == S_IFBLK ? 'b' : 'c', major, minor, ename(e));
    }
}

static int host_disk(int *major, int *minor)
{
    DIR *d = opendir("/sys/dev/block");
    struct dirent *de;
    int found = 0;
    if (!d)
        return 0;
    while (!found && (de = readdir(d))) {
        int ma, mi;
        if (sscanf(de->d_name, "%d:%d", &ma, &mi) == 2 && ma != 7 && ma != 1) {
            *major = ma;
            *minor = mi;
            found = 1;
        }
    }
    closedir(d);
    return found;
}

/* ---- namespaces, in a throw-away child that reports two errnos back ------------- */
static void in_child(void (*fn)(int out[2]), int res[2])
{
    int p[2];
    res[0] = res[1] = -1;
    if (pipe(p) < 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        int out[2] = {-1, -1};
        close(p[0]);
        fn(out);
        if (write(p[1], out, sizeof out) != sizeof out)
            _exit(1);
        _exit(0);
    }
    close(p[1]);
    if (pid > 0) {
        if (read(p[0], res, 2 * sizeof(int)) != 2 * sizeof(int))
            res[0] = res[1] = -1;
        waitpid(pid, NULL, 0);
    }
    close(p[0]);
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int rc = write(fd, text, strlen(text)) < 0 ? errno : 0;
    close(fd);
    return rc;
}

static void userns_child(int out[2])
{
    out[0] = unshare(CLONE_NEWUSER) < 0 ? errno : 0;
    if (out[0]) {
        out[1] = out[0];
        return;
    }
    /* root inside: map our own uid/gid (allowed to anyone), then a private mount ns */
    write_file("/proc/self/setgroups", "deny");
    write_file("/proc/self/uid_map", "0 0 1");
    write_file("/proc/self/gid_map", "0 0 1");
    if (unshare(CLONE_NEWNS) < 0) {
        out[1] = errno;
        return;
    }
    out[1] = mount("gbx-probe", "/tmp", "tmpfs", 0, "size=4k") < 0 ? errno : 0;
    if (out[1] && out[1] == ENOENT)
        out[1] = mount("gbx-probe", "/", "tmpfs", 0, "size=4k") < 0 ? errno : 0;
}

static void netns_child(int out[2])
{
    out[0] = unshare(CLONE_NEWNET) < 0 ? errno : 0;
    out[1] = 0;
}

static void mount_child(int out[2])
{
    char dir[] = "/dev/.gbx-probe-mnt-XXXXXX", alt[] = "/tmp/.gbx-probe-mnt-XXXXXX";
    char *where = mkdtemp(dir);
    out[1] = 0;
    if (!where)
        where = mkdtemp(alt);
    if (!where) {      /* nowhere to mount on: say so, not "blocked" */
        out[0] = errno;
        out[1] = 1;
        return;
    }
    out[0] = mount("gbx-probe", where, "tmpfs", MS_NOSUID | MS_NODEV, "size=4k") < 0 ? errno : 0;
    if (!out[0])
        umount2(where, MNT_DETACH);
    rmdir(where);
}

static void namespaces(void)
{
    int r[2];
    in_child(userns_child, r);
    if (r[0] < 0)
        report("userns", "skipped", "child failed");
    else
        report("userns", r[0] ? (refused(r[0]) ? "blocked" : "allowed") : "allowed",
               "unshare(CLONE_NEWUSER): %s", ename(r[0]));
    if (r[0] < 0)
        report("userns-mount", "skipped", "child failed");
    else if (r[0])
        report("userns-mount", "blocked", "no user namespace (%s)", ename(r[0]));
    else
        report("userns-mount", r[1] ? (refused(r[1]) ? "blocked" : "allowed") : "allowed",
               "tmpfs mount as the new namespace's root: %s", ename(r[1]));

    in_child(netns_child, r);
    report("netns", r[0] < 0 ? "skipped" : r[0] ? "blocked" : "allowed",
           "unshare(CLONE_NEWNET): %s", r[0] < 0 ? "child failed" : ename(r[0]));
    in_child(mount_child, r);
    if (r[0] < 0 || r[1])
        report("mount", "skipped", "%s", r[0] < 0 ? "child failed" : "no writable dir to mount on");
    else
        report("mount", refused(r[0]) ? "blocked" : "allowed", "mount tmpfs: %s", ename(r[0]));
}

/* ---- syscalls the default seccomp profile filters ------------------------------- */
static void syscalls(void)
{
    long rc;

    /* add_key with a NULL type: EFAULT once through the filter, never adds a key */
    rc = syscall(SYS_add_key, NULL, NULL, NULL, 0, 0);
    syscall_verdict("add_key", rc, errno);

    /* bpf with an unknown command: EINVAL past the filter and the capability check */
    rc = syscall(SYS_bpf, -1, NULL, 0);
    syscall_verdict("bpf", rc, errno);

    /* userfaultfd(UFFD_USER_MODE_ONLY | a bogus flag): the sysctl lets user-mode-only
     * through, the bogus flag then makes it EINVAL: only a filter can say EPERM */
    rc = syscall(SYS_userfaultfd, 1 | 0x40000000);
    if (rc >= 0)
        close((int)rc);
    syscall_verdict("userfaultfd", rc, errno);

    /* io_uring_setup(0 entries, NULL params): EFAULT/EINVAL once through */
    rc = syscall(SYS_io_uring_setup, 0, NULL);
    if (rc >= 0)
        close((int)rc);
    syscall_verdict("io_uring_setup", rc, errno);

    /* clock_settime with tv_nsec out of range: the kernel's EINVAL comes before its
     * CAP_SYS_TIME check, so this line tells only whether a filter stops the call */
    struct timespec bad = {.tv_sec = 0, .tv_nsec = 2000000000L};
    rc = syscall(SYS_clock_settime, CLOCK_REALTIME, &bad);
    syscall_verdict("clock_settime", rc, errno);

    /* clock_adjtime(ADJ_TICK with tick 0): EPERM without CAP_SYS_TIME, else EINVAL */
    struct timex tx = {.modes = ADJ_TICK, .tick = 0};
    rc = syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx);
    syscall_verdict("clock_adjtime", rc, errno);

    /* perf_event_open of a PMU type that does not exist, user space only, on ourselves */
    struct perf_event_attr pe;
    memset(&pe, 0, sizeof pe);
    pe.size = sizeof pe;
    pe.type = 0x7fff0000;
    pe.disabled = 1;
    pe.exclude_kernel = 1;
    pe.exclude_hv = 1;
    rc = syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0);
    if (rc >= 0)
        close((int)rc);
    syscall_verdict("perf_event_open", rc, errno);

    /* kexec_load of 1000 segments (more than KEXEC_SEGMENT_MAX): EPERM without
     * CAP_SYS_BOOT, EINVAL with it; nothing is ever loaded */
    rc = syscall(SYS_kexec_load, 0UL, 1000UL, NULL, 0UL);
    syscall_verdict("kexec_load", rc, errno);

    /* init_module of an empty image: EPERM without CAP_SYS_MODULE, else ENOEXEC */
    rc = syscall(SYS_init_module, NULL, 0UL, "");
    syscall_verdict("init_module", rc, errno);

    /* personality(ADDR_NO_RANDOMIZE): turns ASLR off for what we exec; put back */
    int old = personality(0xffffffff);
    rc = personality(ADDR_NO_RANDOMIZE);
    int e = errno;
    if (rc >= 0 && old >= 0)
        personality(old);
    syscall_verdict("personality", rc == -1 ? -1 : 0, e);
}

/* ---- /proc and /sys --------------------------------------------------------------- */
static void open_for_write(const char *name, const char *path, const char *fallback)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    int e = errno;
    if (fd < 0 && e == ENOENT && fallback) {
        path = fallback;
        fd = open(path, O_WRONLY | O_CLOEXEC);
        e = errno;
    }
    if (fd >= 0) {
        close(fd);       /* opened for writing; nothing written */
        report(name, "allowed", "%s opened for writing", path);
    } else {
        report(name, refused(e) ? "blocked" : "skipped", "%s: %s", path, ename(e));
    }
}

static void kcore(void)
{
    char buf[16];
    int fd = open("/proc/kcore", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        report("kcore", refused(e) ? "blocked" : "skipped", "open: %s", ename(e));
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf);
    int e = errno;
    close(fd);
    if (n > 0)
        report("kcore", "allowed", "read %zd bytes of the host's memory image", n);
    else if (n == 0)
        report("kcore", "blocked", "masked (reads as empty)");
    else
        report("kcore", refused(e) ? "blocked" : "allowed", "read: %s", ename(e));
}

/* ---- other processes -------------------------------------------------------------- */
static void ptrace_attempts(void)
{
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    if (child > 0) {
        long rc = ptrace(PTRACE_ATTACH, child, NULL, NULL);
        int e = errno;
        if (rc == 0) {
            waitpid(child, NULL, __WALL);
            ptrace(PTRACE_DETACH, child, NULL, NULL);
        }
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        report("ptrace-child", rc == 0 ? "allowed" : "blocked",
               "PTRACE_ATTACH own child in the container: %s", ename(rc == 0 ? 0 : e));
    }
    if (getpid() == 1) {
        report("ptrace-pid1", "skipped", "the probe is pid 1");
        return;
    }
    long rc = ptrace(PTRACE_ATTACH, 1, NULL, NULL);
    int e = errno;
    if (rc == 0) {
        waitpid(1, NULL, __WALL);
        ptrace(PTRACE_DETACH, 1, NULL, NULL);
    }
    report("ptrace-pid1", rc == 0 ? "allowed" : "blocked", "PTRACE_ATTACH 1: %s",
           ename(rc == 0 ? 0 : e));
}

/* Every other process's /proc/<pid>/exe: opening one is an escape when the file it
 * gives is *not* the file its path names inside the container, i.e. a host binary
 * (runc's CVE-2019-5736: a host-side process in the container's pid namespace). */
static void proc_exe(void)
{
    char detail[400] = "";
    int host = 0, n = 0;
    DIR *d = opendir("/proc");
    struct dirent *de;
    if (!d) {
        report("proc-exe", "skipped", "/proc: %s", ename(errno));
        return;
    }
    while ((de = readdir(d))) {
        int pid = atoi(de->d_name);
        if (pid <= 0 || pid == getpid())
            continue;
        char path[64], target[256], what[64];
        snprintf(path, sizeof path, "/proc/%d/exe", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT || errno == ESRCH)
                continue;   /* a kernel thread or a process that just ended */
            snprintf(what, sizeof what, "%s", ename(errno));
        } else {
            struct stat got, named;
            ssize_t len = readlink(path, target, sizeof target - 1);
            target[len > 0 ? len : 0] = 0;
            fstat(fd, &got);
            close(fd);
            if (len > 0 && stat(target, &named) == 0 && named.st_dev == got.st_dev &&
                named.st_ino == got.st_ino) {
                snprintf(what, sizeof what, "container file");
            } else {
                snprintf(what, sizeof what, "HOST FILE %.40s", target);
                host = 1;
            }
        }
        size_t used = strlen(detail);
        if (used < sizeof detail - 80)
            snprintf(detail + used, sizeof detail - used, "%s%d:%s", n ? "," : "", pid, what);
        n++;
    }
    closedir(d);
    report("proc-exe", host ? "allowed" : n ? "blocked" : "skipped", "%s",
           n ? detail : "no other process");
}

static void seccomp_mode(void)
{
    char line[128];
    FILE *f = fopen("/proc/self/status", "re");
    const char *mode = "unknown";
    while (f && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "Seccomp:", 8)) {
            char *v = line + 8;
            while (*v == ' ' || *v == '\t')
                v++;
            mode = *v == '0' ? "off" : *v == '1' ? "strict" : *v == '2' ? "filter" : "unknown";
            break;
        }
    }
    if (f)
        fclose(f);
    report("seccomp", "info", "%s", mode);
}

int main(int argc, char **argv)
{
    int major = -1, minor = -1;
    inherited_fds();     /* first: before we open anything ourselves */
    if (argc == 3 && !strcmp(argv[1], "--block")) {
        if (sscanf(argv[2], "%d:%d", &major, &minor) != 2) {
            fprintf(stderr, "gbx-probe: --block wants MAJOR:MINOR, got %s\n", argv[2]);
            return 2;
        }
    } else if (argc != 1) {
        fprintf(stderr, "usage: gbx-probe [--block MAJOR:MINOR]\n");
        return 2;
    }
    seccomp_mode();
    if (major >= 0 || host_disk(&major, &minor))
        device("blockdev-host", S_IFBLK, major, minor, O_RDONLY);
    else
        report("blockdev-host", "skipped", "no disk in /sys/dev/block");
    device("blockdev-loop0", S_IFBLK, 7, 0, O_RDONLY);
    device("loop-control", S_IFCHR, 10, 237, O_RDWR);
    device("fuse", S_IFCHR, 10, 229, O_RDWR);
    device("kvm", S_IFCHR, 10, 232, O_RDWR);
    device("kmsg", S_IFCHR, 1, 11, O_RDONLY);
    namespaces();
    syscalls();
    open_for_write("sysrq-trigger", "/proc/sysrq-trigger", NULL);
    open_for_write("core_pattern", "/proc/sys/kernel/core_pattern", NULL);
    open_for_write("sys-write", "/sys/kernel/uevent_helper", "/sys/kernel/mm/ksm/run");
    kcore();
    ptrace_attempts();
    proc_exe();
    return 0;
}
