#define _GNU_SOURCE
#include "CSysbox.h"

#include <sys/vfs.h>

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <termios.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
/* open_tree(2), move_mount(2) and mount_setattr(2) constants (linux/mount.h clashes with glibc's
 * sys/mount.h on some versions). */
#define SYSBOX_OPEN_TREE_CLONE 1
#define SYSBOX_MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define SYSBOX_MOUNT_ATTR_IDMAP 0x00100000
#define SYSBOX_MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#define SYSBOX_AT_RECURSIVE 0x8000
#define SYSBOX_FSCONFIG_SET_FLAG 0
#define SYSBOX_FSCONFIG_SET_STRING 1
#define SYSBOX_FSCONFIG_CMD_CREATE 6
#define SYSBOX_FSOPEN_CLOEXEC 1
#define SYSBOX_FSMOUNT_CLOEXEC 1

/* struct mount_attr (MOUNT_ATTR_SIZE_VER0). */
struct sysbox_mount_attr { uint64_t attr_set, attr_clr, propagation, userns_fd; };

/* struct clone_args up to `cgroup` (CLONE_ARGS_SIZE_VER2), for clone3(2). */
struct sysbox_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

/* A fork (no CLONE_VM: the child returns 0 here, on its own copy of the stack) that the kernel puts in
 * the cgroup2 directory cgroup_fd at once (clone3 CLONE_INTO_CGROUP, Linux 5.7), with `flags` added
 * (namespaces, CLONE_PIDFD with *pidfd). -ENOSYS when clone3 or the flag is unknown (the caller falls
 * back), else the pid or -errno. Signals must be blocked by the caller. */
static pid_t clone_into(int cgroup_fd, uint64_t flags, int *pidfd) {
    struct sysbox_clone_args a;
    memset(&a, 0, sizeof a);
    a.flags = flags | CLONE_INTO_CGROUP;
    a.pidfd = (uint64_t)(uintptr_t)pidfd;
    a.exit_signal = SIGCHLD;
    a.cgroup = (uint64_t)cgroup_fd;
    long pid = syscall(SYS_clone3, &a, sizeof a);
    if (pid < 0) return (errno == ENOSYS || errno == E2BIG || errno == EINVAL) ? -ENOSYS : -errno;
    return (pid_t)pid;
}

/* Joins the calling (single-threaded) process's cgroups: 0 into each v1 `tasks` file, and into
 * cgroup_fd's cgroup.procs unless the kernel already placed it there. 0 or the errno of the failure. */
static int write_zero(int dirfd, const char *path) {
    int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    ssize_t n = write(fd, "0", 1);
    int e = errno;
    close(fd);
    return n == 1 ? 0 : e;
}

static int join_cgroups(const char *const *tasks, int count, int cgroup_fd, int placed) {
    for (int i = 0; i < count; i++) {
        int e = write_zero(AT_FDCWD, tasks[i]);
        if (e) return e;
    }
    return cgroup_fd >= 0 && !placed ? write_zero(cgroup_fd, "cgroup.procs") : 0;
}

#define STACK_SIZE (256 * 1024)

struct report { int step; int err; };

/* Writes {step, errno} to the error pipe and exits: the only way a child ends before execve. */
static void __attribute__((noreturn)) fail(int fd, int step, int err) {
    struct report r = { step, err };
    ssize_t n;
    do { n = write(fd, &r, sizeof r); } while (n < 0 && errno == EINTR);
    _exit(127);
}

static void __attribute__((noreturn)) enter(int ef, char mode, const char *path, char *const *argv, char *const *envp);

static void reset_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        sigaction(s, &sa, NULL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* "/proc/self/fd/<fd>" into buf without any library call that may allocate. */
static void fd_path(char *buf, int fd) {
    const char *prefix = "/proc/self/fd/";
    size_t i = 0;
    while (prefix[i]) { buf[i] = prefix[i]; i++; }
    char digits[16];
    int n = 0;
    do { digits[n++] = (char)('0' + fd % 10); fd /= 10; } while (fd > 0);
    while (n > 0) buf[i++] = digits[--n];
    buf[i] = 0;
}

/* Opens `rel` (relative to the cwd, the rootfs) component by component with O_NOFOLLOW, so no symlink
 * inside the rootfs can lead a mount out of it. create: 0 none, 1 directory, 2 file. Returns an O_PATH
 * fd of the target, or -errno (ELOOP when a component is a symlink). */
static int open_in_rootfs(const char *rel, int create) {
    int dirfd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) return -errno;
    char comp[256];
    const char *p = rel;
    while (*p == '/') p++;
    if (!*p) return dirfd;
    while (*p) {
        size_t len = 0;
        while (p[len] && p[len] != '/') len++;
        if (len >= sizeof comp) { close(dirfd); return -ENAMETOOLONG; }
        memcpy(comp, p, len);
        comp[len] = 0;
        p += len;
        while (*p == '/') p++;
        int last = (*p == 0);
        if ((len == 1 && comp[0] == '.') || (len == 2 && comp[0] == '.' && comp[1] == '.')) {
            close(dirfd);
            return -EINVAL;
        }
        int fd = openat(dirfd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && create) {
            if (!last || create == 1) {
                if (mkdirat(dirfd, comp, 0755) < 0 && errno != EEXIST) { int e = errno; close(dirfd); return -e; }
            } else {
                int f = openat(dirfd, comp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (f < 0 && errno != EEXIST) { int e = errno; close(dirfd); return -e; }
                if (f >= 0) close(f);
            }
            fd = openat(dirfd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        }
        if (fd < 0) { int e = errno; close(dirfd); return -e; }
        close(dirfd);
        struct stat st;
        if (fstat(fd, &st) < 0) { int e = errno; close(fd); return -e; }
        if (S_ISLNK(st.st_mode)) { close(fd); return -ELOOP; }
        if (!last && !S_ISDIR(st.st_mode)) { close(fd); return -ENOTDIR; }
        dirfd = fd;
    }
    return dirfd;
}

/* Empties the inheritable and ambient capability sets, so execve gives exactly the bounding set
 * (an inheritable set from whoever started sysbox would otherwise bring dropped capabilities back). */
static int clear_inheritable_caps(void) {
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &hdr, data) < 0) return -errno;
    data[0].inheritable = 0;
    data[1].inheritable = 0;
    if (syscall(SYS_capset, &hdr, data) < 0) return -errno;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) return -errno;
    return 0;
}

/* Closes every fd from 3 up except those in keep[] (unsorted, -1 ignored). */
static void close_all_except(const int *keep, int n) {
    int lo = 3;
    while (1) {
        int next = -1;
        for (int i = 0; i < n; i++) {
            if (keep[i] >= lo && (next < 0 || keep[i] < next)) next = keep[i];
        }
        if (next < 0) { syscall(SYS_close_range, (unsigned)lo, ~0U, 0); return; }
        if (next > lo) syscall(SYS_close_range, (unsigned)lo, (unsigned)(next - 1), 0);
        lo = next + 1;
    }
}

struct child_args {
    const sysbox_spawn_config *c;
    int sync_r, sync_w, err_r, err_w;
    int placed;   /* already in cgroup_fd (CLONE_INTO_CGROUP) */
    /* A user namespace: the child's end of the socket to the parent, the idmapped mounts it sent (in
     * the order of the IDMAPPED entries), and, per entry, an O_PATH fd of its host source (or -1). */
    int sock_child, sock_parent;
    int idmapped[SYSBOX_MAX_IDMAPPED];
    int idmapped_count, idmapped_next;
    int *source_fds;   /* host source of a bind, mask or console */
    int *target_fds;   /* absolute host target of an IDMAPPED or ROOTFS entry */
    int first_idmapped;  /* the first IDMAPPED entry's mount, once attached (-1 before) */
};

/* ---- The container's first process: phases, as crun's linux.c cuts them. ---- */

/* Signals, fds, the parent-death signal and umask of the fresh child. */
static void child_reset(struct child_args *a) {
    reset_signals();
    close(a->sync_w);
    close(a->err_r);
    if (a->sock_parent >= 0) close(a->sock_parent);
    /* The container cannot outlive its monitor. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    umask(0);
}

/* Its cgroups, before anything else runs in it (and before its cgroup namespace is made). */
static void child_join_cgroups(const struct child_args *a) {
    const sysbox_spawn_config *c = a->c;
    int jerr = join_cgroups(c->cgroup_tasks, c->cgroup_task_count, c->cgroup_fd, a->placed);
    if (jerr) fail(a->err_w, SYSBOX_STEP_CGROUP_JOIN, jerr);
    if (c->cgroup_fd >= 0) close(c->cgroup_fd);
}

/* PR_SET_PDEATHSIG again after a credential change (which clears it). A monitor that died before this
 * sends no signal, but its end of the sync pipe is closed then: the release fails at once. (getppid()
 * cannot tell: the parent is outside this process's PID namespace, so it is always 0.) */
static void rearm_pdeathsig(int ef) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) fail(ef, SYSBOX_STEP_USERNS, errno);
}

/* Receives the idmapped mounts the parent made (it writes the id maps first, so their arrival means
 * the maps are in place). */
static void receive_idmapped(struct child_args *a) {
    char byte;
    struct iovec iov = { &byte, 1 };
    union { char buf[CMSG_SPACE(sizeof(int) * SYSBOX_MAX_IDMAPPED)]; struct cmsghdr align; } u;
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = u.buf;
    msg.msg_controllen = sizeof u.buf;
    ssize_t n;
    do { n = recvmsg(a->sock_child, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    if (n != 1) fail(a->err_w, SYSBOX_STEP_USERNS, n < 0 ? errno : EPIPE);
    a->idmapped_count = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < count && a->idmapped_count < SYSBOX_MAX_IDMAPPED; i++) {
            memcpy(&a->idmapped[a->idmapped_count++], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
        }
    }
}

/* The user namespace's side of the start (see sysbox_spawn): the maps and idmapped mounts arrive;
 * the host paths binds need are opened while this process is still host root (unmapped in its
 * namespace, it can search directories only host root may); then it becomes the namespace's root,
 * joins its cgroups, makes its network namespace and tells the parent. */
static void child_enter_userns(struct child_args *a) {
    const sysbox_spawn_config *c = a->c;
    receive_idmapped(a);
    for (int i = 0; i < c->entry_count; i++) {
        const sysbox_entry *e = &c->entries[i];
        a->source_fds[i] = -1;
        a->target_fds[i] = -1;
        int hostpath = e->kind == SYSBOX_ENTRY_BIND || e->kind == SYSBOX_ENTRY_MASK_FILE || e->kind == SYSBOX_ENTRY_CONSOLE;
        if (hostpath && e->source && e->source[0] == '/') {
            a->source_fds[i] = open(e->source, O_PATH | O_CLOEXEC);
            if (a->source_fds[i] < 0) fail(a->err_w, (int)e->step, errno);
        }
        int hosttarget = e->kind == SYSBOX_ENTRY_IDMAPPED || e->kind == SYSBOX_ENTRY_ROOTFS;
        if (hosttarget && e->target[0] == '/') {
            a->target_fds[i] = open(e->target, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (a->target_fds[i] < 0) fail(a->err_w, (int)e->step, errno);
        }
    }
    if (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0)
        fail(a->err_w, SYSBOX_STEP_USERNS, errno);
    /* A change of credentials clears the parent-death signal: set it again (and if the monitor died
     * meanwhile, the release fails). */
    rearm_pdeathsig(a->err_w);
    /* As the container's root, into the cgroups delegated to it (their tasks files are its own). */
    child_join_cgroups(a);
    if (unshare(CLONE_NEWNET) < 0) fail(a->err_w, SYSBOX_STEP_USERNS, errno);
    char ack = 'n';
    ssize_t n;
    do { n = write(a->sock_child, &ack, 1); } while (n < 0 && errno == EINTR);
    if (n != 1) fail(a->err_w, SYSBOX_STEP_USERNS, n < 0 ? errno : EPIPE);
    close(a->sock_child);
}

/* The next idmapped mount the parent sent, attached at the entry's target: its host directory
 * (opened before the child became the namespace's root), or a directory inside the first idmapped
 * mount. */
static int attach_idmapped(struct child_args *a, const sysbox_entry *e, int target_fd) {
    if (a->idmapped_next >= a->idmapped_count) return -EBADF;
    int fd = a->idmapped[a->idmapped_next++];
    long rc;
    if (target_fd >= 0) {
        rc = syscall(SYS_move_mount, fd, "", target_fd, "", SYSBOX_MOVE_MOUNT_F_EMPTY_PATH | SYSBOX_MOVE_MOUNT_T_EMPTY_PATH);
    } else if (e->create) {
        /* A disk: at its target resolved inside the root filesystem (the cwd). */
        int at = open_in_rootfs(e->target, e->create);
        if (at < 0) { close(fd); return at; }
        rc = syscall(SYS_move_mount, fd, "", at, "", SYSBOX_MOVE_MOUNT_F_EMPTY_PATH | SYSBOX_MOVE_MOUNT_T_EMPTY_PATH);
        int err = errno;
        close(at);
        errno = err;
    } else {
        if (a->first_idmapped < 0 || e->target[0] == '/') return -EINVAL;
        rc = syscall(SYS_move_mount, fd, "", a->first_idmapped, e->target, SYSBOX_MOVE_MOUNT_F_EMPTY_PATH);
    }
    if (rc < 0) return -errno;
    if (a->first_idmapped < 0) a->first_idmapped = fd;
    else close(fd);
    return 0;
}

/* "/proc/self/fd/<fd>/<rel>" into out (no allocation). */
static int fd_relative_path(char *out, size_t size, int fd, const char *rel, size_t len) {
    char base[64];
    fd_path(base, fd);
    size_t b = strlen(base);
    if (b + 1 + len + 1 > size) return -ENAMETOOLONG;
    memcpy(out, base, b);
    out[b] = '/';
    memcpy(out + b + 1, rel, len);
    out[b + 1 + len] = 0;
    return 0;
}

/* A user namespace's root filesystem, entered (the cwd): without fstype, the first idmapped mount
 * (the tree); with one (overlay), a new mount made with fsopen(2) from `options`, whose relative
 * lowerdir/upperdir/workdir paths are inside the first idmapped mount (the container's directory,
 * the image attached in it), attached at the target (on top) with move_mount(2). Made by the
 * namespace's root, so the overlay writes its upper layer as that root, through the idmapped mount. */
static int userns_rootfs(struct child_args *a, const sysbox_entry *e, int target_fd) {
    if (a->first_idmapped < 0 || target_fd < 0) return -EINVAL;
    if (!e->fstype) return fchdir(a->first_idmapped) < 0 ? -errno : 0;
    int fs = (int)syscall(SYS_fsopen, e->fstype, SYSBOX_FSOPEN_CLOEXEC);
    if (fs < 0) return -errno;
    const char *p = e->options ? e->options : "";
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char key[32], value[256];
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        if (klen == 0 || klen >= sizeof key) { close(fs); return -EINVAL; }
        memcpy(key, p, klen);
        key[klen] = 0;
        long rc;
        if (eq) {
            const char *v = eq + 1;
            size_t vlen = len - klen - 1;
            int path = strcmp(key, "lowerdir") == 0 || strcmp(key, "upperdir") == 0 || strcmp(key, "workdir") == 0;
            if (path && vlen > 0 && v[0] != '/') {
                int r = fd_relative_path(value, sizeof value, a->first_idmapped, v, vlen);
                if (r < 0) { close(fs); return r; }
            } else {
                if (vlen >= sizeof value) { close(fs); return -ENAMETOOLONG; }
                memcpy(value, v, vlen);
                value[vlen] = 0;
            }
            rc = syscall(SYS_fsconfig, fs, SYSBOX_FSCONFIG_SET_STRING, key, value, 0);
        } else {
            rc = syscall(SYS_fsconfig, fs, SYSBOX_FSCONFIG_SET_FLAG, key, NULL, 0);
        }
        if (rc < 0) { int err = errno; close(fs); return -err; }
        p += len;
        if (*p == ',') p++;
    }
    if (syscall(SYS_fsconfig, fs, SYSBOX_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) { int err = errno; close(fs); return -err; }
    int mnt = (int)syscall(SYS_fsmount, fs, SYSBOX_FSMOUNT_CLOEXEC, 0);
    int err = errno;
    close(fs);
    if (mnt < 0) return -err;
    if (syscall(SYS_move_mount, mnt, "", target_fd, "", SYSBOX_MOVE_MOUNT_F_EMPTY_PATH | SYSBOX_MOVE_MOUNT_T_EMPTY_PATH) < 0 || fchdir(mnt) < 0) {
        err = errno;
        close(mnt);
        return -err;
    }
    close(mnt);
    return 0;
}

/* A filesystem at a path sysbox made itself (under proc, sys, dev, or the cgroup tree), after an
 * optional mkdir (an existing directory is kept). */
static int mount_at_path(const sysbox_entry *e) {
    if (e->mode && mkdir(e->target, e->mode) < 0 && errno != EEXIST) return -errno;
    return mount(e->source, e->target, e->fstype, e->flags, e->options) < 0 ? -errno : 0;
}

/* A bind (bind != 0) or filesystem mount on a target resolved inside the rootfs and mounted through
 * its fd. 1 when skipped (missing, create 0), 0 when done, else -errno. */
static int mount_resolved(const sysbox_entry *e, int bind, int source_fd, int userns) {
    char target[64], source[64];
    const char *from = e->source;
    if (source_fd >= 0) {
        fd_path(source, source_fd);
        from = source;
    }
    int fd = open_in_rootfs(e->target, e->create);
    if (fd == -ENOENT && !e->create) return 1;
    if (fd < 0) return fd;
    fd_path(target, fd);
    int rc;
    if (bind && userns) {
        /* In a user namespace the kernel refuses a bind that would uncover what the host's mounts
         * below the source hide (EINVAL): recursive, and then read-only all the way down with
         * mount_setattr (which only adds flags, so the host mounts' locked ones stay as they are). */
        rc = mount(from, target, NULL, MS_BIND | MS_REC, NULL);
        uint64_t set = ((e->flags & MS_RDONLY) ? 0x1 : 0) | ((e->flags & MS_NOSUID) ? 0x2 : 0) | ((e->flags & MS_NODEV) ? 0x4 : 0) |
                       ((e->flags & MS_NOEXEC) ? 0x8 : 0);  /* MOUNT_ATTR_RDONLY, _NOSUID, _NODEV, _NOEXEC */
        if (rc == 0 && set) {
            int top = open_in_rootfs(e->target, 0);
            if (top < 0) { close(fd); return top; }
            struct sysbox_mount_attr attr = { set, 0, 0, 0 };
            rc = (int)syscall(SYS_mount_setattr, top, "", AT_EMPTY_PATH | SYSBOX_AT_RECURSIVE, &attr, sizeof attr);
            close(top);
        }
    } else if (bind) {
        /* Not recursive (as Incus's default): mounts below the source stay out, so a read-only
         * disk is read-only all the way down. */
        rc = mount(from, target, NULL, MS_BIND, NULL);
        if (rc == 0 && (e->flags & MS_RDONLY)) {
            /* The fd still names the dentry under the new mount: look the target up again (no
             * process runs in the container yet) to reach the bind mount's root, then remount it. */
            int top = open_in_rootfs(e->target, 0);
            if (top < 0) { close(fd); return top; }
            char top_path[64];
            fd_path(top_path, top);
            rc = mount(NULL, top_path, NULL, MS_BIND | MS_REMOUNT | e->flags, NULL);
            close(top);
        }
    } else {
        rc = mount(e->source, target, e->fstype, e->flags, e->options);
    }
    int err = errno;
    close(fd);
    return rc < 0 ? -err : 0;
}

static int make_node(const sysbox_entry *e) {
    if (mknod(e->target, S_IFCHR | e->mode, makedev(e->major, e->minor)) < 0 && errno != EEXIST) return -errno;
    return chmod(e->target, e->mode) < 0 ? -errno : 0;
}

static int make_console(const sysbox_entry *e, int source_fd) {
    if (!e->source) return 0;
    char source[64];
    const char *from = e->source;
    if (source_fd >= 0) {
        fd_path(source, source_fd);
        from = source;
    }
    int fd = open(e->target, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return -errno;
    close(fd);
    return mount(from, e->target, NULL, MS_BIND, NULL) < 0 ? -errno : 0;
}

/* Writes a file's content inside the rootfs: only a regular file is rewritten in place; anything else
 * there (a FIFO, a device node, a symlink) is replaced by a new regular file. */
static int write_file(const sysbox_entry *e) {
    /* Split into directory and name (a stack copy: no allocation). */
    char dir[512], target[64];
    size_t len = strlen(e->target);
    if (len >= sizeof dir) return -ENAMETOOLONG;
    memcpy(dir, e->target, len + 1);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : dir;
    if (slash) *slash = 0;
    int dfd = open_in_rootfs(slash ? dir : ".", 1);
    if (dfd < 0) return dfd;
    fd_path(target, dfd);
    int parent = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    close(dfd);
    if (parent < 0) return -errno;
    struct stat st;
    if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode)) {
        if (unlinkat(parent, base, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0) return -errno;
    }
    int w = openat(parent, base, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
    if (w < 0) return -errno;
    close(parent);
    if (fstat(w, &st) < 0 || !S_ISREG(st.st_mode)) return -EINVAL;
    if (ftruncate(w, 0) < 0) return -errno;
    size_t done = 0;
    while (done < e->length) {
        ssize_t k = write(w, e->content + done, e->length - done);
        if (k < 0) { if (errno == EINTR) continue; return -errno; }
        done += (size_t)k;
    }
    close(w);
    return 0;
}

static int rebind(const sysbox_entry *e) {
    if (mount(e->target, e->target, NULL, MS_BIND, NULL) < 0 ||
        mount(NULL, e->target, NULL, MS_BIND | MS_REMOUNT | e->flags, NULL) < 0)
        return errno == ENOENT ? 1 : -errno;
    return 0;
}

/* The monitor has placed this child in its cgroups and attached its NICs; then its cgroups become the
 * root of its cgroup namespace. */
static void await_release(struct child_args *a) {
    char b;
    ssize_t n;
    do { n = read(a->sync_r, &b, 1); } while (n < 0 && errno == EINTR);
    if (n != 1) fail(a->err_w, SYSBOX_STEP_SYNC_WAIT, n < 0 ? errno : EPIPE);
    close(a->sync_r);
    if (unshare(CLONE_NEWCGROUP) < 0) fail(a->err_w, SYSBOX_STEP_UNSHARE_CGROUP, errno);
}

/* Resource limits in two steps, so that a low limit (nofile 10) does not hit sysbox's own set-up: the
 * hard limits the container needs above the current ones are raised first, by host root (raising a
 * hard limit needs CAP_SYS_RESOURCE in the initial user namespace), on `pid` (0: the caller); the
 * exact values are set by the process itself last before its exec (lowering and soft changes need
 * no capability). prlimit64(2) as raw syscalls: no glibc lock after a fork. 0, or -errno. */
struct sysbox_rlimit64 { unsigned long long cur, max; };

static int raise_rlimits(pid_t pid, const sysbox_rlimit *r, int count) {
    for (int i = 0; i < count; i++) {
        struct sysbox_rlimit64 now;
        if (syscall(SYS_prlimit64, pid, r[i].resource, NULL, &now) < 0) return -errno;
        if (r[i].hard <= now.max) continue;
        struct sysbox_rlimit64 raised = { now.cur, r[i].hard };
        if (syscall(SYS_prlimit64, pid, r[i].resource, &raised, NULL) < 0) return -errno;
    }
    return 0;
}

static int apply_rlimits(const sysbox_rlimit *r, int count) {
    for (int i = 0; i < count; i++) {
        struct sysbox_rlimit64 limit = { r[i].soft, r[i].hard };
        if (syscall(SYS_prlimit64, 0, r[i].resource, &limit, NULL) < 0) return -errno;
    }
    return 0;
}

/* A namespaced sysctl: its value in one write to the container's own /proc/sys file. */
static int write_sysctl(const sysbox_entry *e) {
    int fd = open(e->target, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -errno;
    ssize_t n;
    do { n = write(fd, e->content, e->length); } while (n < 0 && errno == EINTR);
    int err = n < 0 ? errno : (size_t)n != e->length ? EIO : 0;
    close(fd);
    return -err;
}

/* One entry of the plan: 0 (or 1: skipped) or -errno, reported with the entry's step. */
static int run_entry(struct child_args *a, const sysbox_entry *e, int index) {
    int source_fd = a->source_fds ? a->source_fds[index] : -1;
    int target_fd = a->target_fds ? a->target_fds[index] : -1;
    switch (e->kind) {
    case SYSBOX_ENTRY_ROOTFS:
        if (a->c->uid_map) return userns_rootfs(a, e, target_fd);
        if (mount(e->source, e->target, e->fstype, e->flags, e->options) < 0) return -errno;
        if (chdir(e->target) < 0) fail(a->err_w, SYSBOX_STEP_CHDIR_ROOTFS, errno);
        return 0;
    case SYSBOX_ENTRY_DIRECTORY: {
        int fd = open_in_rootfs(e->target, SYSBOX_CREATE_DIRECTORY);
        if (fd < 0) return fd;
        close(fd);
        return 0;
    }
    case SYSBOX_ENTRY_TMPFS:
        if (e->create) return mount_resolved(e, 0, -1, 0);
        return mount_at_path(e);
    case SYSBOX_ENTRY_PROC:
    case SYSBOX_ENTRY_SYSFS:
    case SYSBOX_ENTRY_DEVPTS:
    case SYSBOX_ENTRY_MQUEUE:
    case SYSBOX_ENTRY_CGROUP:
    case SYSBOX_ENTRY_REMOUNT:
        return mount_at_path(e);
    case SYSBOX_ENTRY_DEV_NODE:
        return make_node(e);
    case SYSBOX_ENTRY_SYMLINK:
        return symlink(e->source, e->target) < 0 ? -errno : 0;
    case SYSBOX_ENTRY_CONSOLE:
        return make_console(e, source_fd);
    case SYSBOX_ENTRY_BIND:
    case SYSBOX_ENTRY_MASK_FILE:
        return mount_resolved(e, 1, source_fd, a->c->uid_map != NULL);
    case SYSBOX_ENTRY_MASK_DIR:
        return mount_resolved(e, 0, -1, 0);
    case SYSBOX_ENTRY_IDMAPPED:
        return attach_idmapped(a, e, target_fd);
    case SYSBOX_ENTRY_FILE:
        return write_file(e);
    case SYSBOX_ENTRY_SYSCTL:
        return write_sysctl(e);
    case SYSBOX_ENTRY_REBIND:
        return rebind(e);
    case SYSBOX_ENTRY_RELEASE:
        await_release(a);
        return 0;
    }
    return -EINVAL;
}

/* The whole filesystem: every mount of the container is private first, then the plan's entries in
 * order. The entries before RELEASE need nothing from the monitor, so they are made while it
 * attaches the NICs. */
static void child_build_filesystem(struct child_args *a) {
    const sysbox_spawn_config *c = a->c;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) fail(a->err_w, SYSBOX_STEP_MOUNT_PRIVATE, errno);
    for (int i = 0; i < c->entry_count; i++) {
        int rc = run_entry(a, &c->entries[i], i);
        if (rc < 0) fail(a->err_w, (int)c->entries[i].step, -rc);
    }
}

static void child_pivot(int ef) {
    if (syscall(SYS_pivot_root, ".", ".") < 0) fail(ef, SYSBOX_STEP_PIVOT_ROOT, errno);
    if (umount2(".", MNT_DETACH) < 0) fail(ef, SYSBOX_STEP_PIVOT_ROOT, errno);
    if (chdir("/") < 0) fail(ef, SYSBOX_STEP_PIVOT_ROOT, errno);
}

/* Capabilities dropped from the bounding set, then no inheritable or ambient ones. */
static void drop_capabilities(int ef, uint64_t drop) {
    for (int cap = 0; cap < 64; cap++) {
        if ((drop >> cap) & 1) {
            if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) fail(ef, SYSBOX_STEP_CAPS, errno);
        }
    }
    int crc = clear_inheritable_caps();
    if (crc < 0) fail(ef, SYSBOX_STEP_CAPS, -crc);
}

/* The container's seccomp filter (seccomp.bpf, built by the parent), loaded with one syscall: no
 * allocation, no no_new_privs (the caller still has CAP_SYS_ADMIN, which the kernel then requires
 * instead). It stays on the process through fork and execve. Nothing when length is 0. */
static void load_seccomp(int ef, const unsigned char *filter, unsigned int length) {
    if (length == 0) return;
    struct sock_fprog prog = { (unsigned short)(length / sizeof(struct sock_filter)), (struct sock_filter *)(uintptr_t)filter };
    if (length % sizeof(struct sock_filter) != 0 || length / sizeof(struct sock_filter) > SYSBOX_SECCOMP_MAX_INSNS)
        fail(ef, SYSBOX_STEP_SECCOMP, EINVAL);
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) fail(ef, SYSBOX_STEP_SECCOMP, errno);
}

/* Hostname, lo up, capabilities, session and stdio, fds, and last the seccomp filter. */
static void child_finalize(const sysbox_spawn_config *c, int ef) {
    if (sethostname(c->hostname, strlen(c->hostname)) < 0) fail(ef, SYSBOX_STEP_HOSTNAME, errno);

    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) fail(ef, SYSBOX_STEP_LOOPBACK, errno);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, "lo", 3);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) fail(ef, SYSBOX_STEP_LOOPBACK, errno);
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) fail(ef, SYSBOX_STEP_LOOPBACK, errno);
    close(s);

    drop_capabilities(ef, c->drop_caps);

    if (setsid() < 0) fail(ef, SYSBOX_STEP_STDIO, errno);
    if (c->console_fd >= 0) {
        if (dup2(c->console_fd, 0) < 0 || dup2(c->console_fd, 1) < 0 || dup2(c->console_fd, 2) < 0)
            fail(ef, SYSBOX_STEP_STDIO, errno);
        /* The console is init's stdio but not its controlling terminal: Ctrl-C typed on the console
         * must reach the console's shell (which takes the console as its own terminal), never init. */
    }
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) fail(ef, SYSBOX_STEP_CLOSE_FDS, errno);
    umask(022);
    /* init's resource limits, exactly (the parent raised the hard ones it needed), before the filter. */
    int lrc = apply_rlimits(c->rlimits, c->rlimit_count);
    if (lrc < 0) fail(ef, SYSBOX_STEP_RLIMITS, -lrc);
    /* Last, after the capabilities: only the trampoline's exec of init follows. */
    load_seccomp(ef, c->seccomp_filter, c->seccomp_length);
}

static int child_main(void *arg) {
    struct child_args *a = arg;
    child_reset(a);
    if (!a->c->uid_map) child_join_cgroups(a);
    /* On this stack (no allocation): the host sources of a user namespace's binds. */
    int source_fds[a->c->uid_map ? a->c->entry_count + 1 : 1];
    int target_fds[a->c->uid_map ? a->c->entry_count + 1 : 1];
    if (a->c->uid_map) {
        a->source_fds = source_fds;
        a->target_fds = target_fds;
        child_enter_userns(a);
    }
    child_build_filesystem(a);
    child_pivot(a->err_w);
    child_finalize(a->c, a->err_w);
    enter(a->err_w, 'i', a->c->init_path, a->c->argv, a->c->envp);
}

int sysbox_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC) < 0 ? -errno : 0;
}

/* Writes `text` to /proc/PID/<file>. 0 or -errno. */
static int write_proc(pid_t pid, const char *file, const char *text) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    size_t len = strlen(text);
    ssize_t n = write(fd, text, len);
    int e = errno;
    close(fd);
    return n == (ssize_t)len ? 0 : (n < 0 ? -e : -EIO);
}

/* The parent's side of a user namespace's start (see sysbox_spawn): maps, idmapped mounts sent to the
 * child, then the child's acknowledgement. 0, or -errno with *step set. */
static int parent_setup_userns(pid_t pid, const sysbox_spawn_config *c, int sock, int *step) {
    int rc = write_proc(pid, "uid_map", c->uid_map);
    if (rc == 0) rc = write_proc(pid, "gid_map", c->gid_map ? c->gid_map : c->uid_map);
    if (rc < 0) { *step = SYSBOX_STEP_USERNS; return rc; }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
    int userns = open(path, O_RDONLY | O_CLOEXEC);
    if (userns < 0) { *step = SYSBOX_STEP_USERNS; return -errno; }
    int fds[SYSBOX_MAX_IDMAPPED];
    int count = 0;
    rc = 0;
    for (int i = 0; i < c->entry_count && rc == 0; i++) {
        const sysbox_entry *e = &c->entries[i];
        if (e->kind != SYSBOX_ENTRY_IDMAPPED) continue;
        if (count == SYSBOX_MAX_IDMAPPED || !e->source) { rc = -E2BIG; break; }
        int fd = (int)syscall(SYS_open_tree, AT_FDCWD, e->source, SYSBOX_OPEN_TREE_CLONE | O_CLOEXEC);
        if (fd < 0) { rc = -errno; break; }
        /* MOUNT_ATTR_RDONLY, _NOSUID, _NODEV, _NOEXEC from the entry's MS_* flags. */
        uint64_t set = SYSBOX_MOUNT_ATTR_IDMAP | ((e->flags & MS_RDONLY) ? 0x1 : 0) | ((e->flags & MS_NOSUID) ? 0x2 : 0) |
                       ((e->flags & MS_NODEV) ? 0x4 : 0) | ((e->flags & MS_NOEXEC) ? 0x8 : 0);
        struct sysbox_mount_attr attr = { set, 0, 0, (uint64_t)userns };
        if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) { rc = -errno; close(fd); break; }
        fds[count++] = fd;
    }
    close(userns);
    if (rc < 0) {
        for (int i = 0; i < count; i++) close(fds[i]);
        *step = SYSBOX_STEP_IDMAP;
        return rc;
    }
    char byte = 'm';
    struct iovec iov = { &byte, 1 };
    union { char buf[CMSG_SPACE(sizeof(int) * SYSBOX_MAX_IDMAPPED)]; struct cmsghdr align; } u;
    memset(&u, 0, sizeof u);
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (count > 0) {
        msg.msg_control = u.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)count);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)count);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)count);
    }
    ssize_t n;
    do { n = sendmsg(sock, &msg, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    int e = errno;
    for (int i = 0; i < count; i++) close(fds[i]);
    if (n != 1) { *step = SYSBOX_STEP_USERNS; return n < 0 ? -e : -EIO; }
    /* The child's acknowledgement: it is root in its namespace and has its network namespace. EOF: it
     * failed (its report is on the error pipe). */
    do { n = read(sock, &byte, 1); } while (n < 0 && errno == EINTR);
    if (n != 1) { *step = 0; return n < 0 ? -errno : -EPIPE; }
    return 0;
}

int sysbox_spawn(const sysbox_spawn_config *config, sysbox_spawn_handle *handle) {
    int syncp[2], errp[2], sock[2] = { -1, -1 };
    handle->failed_step = 0;
    if (pipe2(syncp, O_CLOEXEC) < 0) return -errno;
    if (pipe2(errp, O_CLOEXEC) < 0) { int e = errno; close(syncp[0]); close(syncp[1]); return -e; }
    if (config->uid_map && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock) < 0) {
        int e = errno;
        close(syncp[0]); close(syncp[1]); close(errp[0]); close(errp[1]);
        return -e;
    }
    struct child_args args = { config, syncp[0], syncp[1], errp[0], errp[1], 0, sock[1], sock[0], { 0 }, 0, 0, NULL, NULL, -1 };
    void *stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        int e = errno;
        close(syncp[0]); close(syncp[1]); close(errp[0]); close(errp[1]);
        if (sock[0] >= 0) { close(sock[0]); close(sock[1]); }
        return -e;
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int pidfd = -1;
    /* A user namespace owns the others made with it; the network namespace comes after the maps. */
    int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_PIDFD | (config->uid_map ? CLONE_NEWUSER : CLONE_NEWNET);
    pid_t pid = -ENOSYS;
    if (config->cgroup_fd >= 0) {
        args.placed = 1;
        pid = clone_into(config->cgroup_fd, (uint64_t)flags, &pidfd);
        if (pid == 0) {
            child_main(&args);
            _exit(127);
        }
        args.placed = 0;
    }
    int e = pid < 0 ? -pid : 0;
    if (pid == -ENOSYS) {
        pid = clone(child_main, (char *)stack + STACK_SIZE, flags | SIGCHLD, &args, &pidfd);
        e = errno;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    munmap(stack, STACK_SIZE);
    close(syncp[0]);
    close(errp[1]);
    if (sock[1] >= 0) close(sock[1]);
    if (pid < 0) {
        close(syncp[1]);
        close(errp[0]);
        if (sock[0] >= 0) close(sock[0]);
        return -e;
    }
    if (config->uid_map || config->rlimit_count > 0) {
        int step = 0;
        int rc = 0;
        if (config->uid_map) {
            rc = parent_setup_userns(pid, config, sock[0], &step);
            close(sock[0]);
        }
        /* init's hard limits raised where they must be, by host root (the child sets them all last). */
        if (rc >= 0) {
            rc = raise_rlimits(pid, config->rlimits, config->rlimit_count);
            if (rc < 0) step = SYSBOX_STEP_RLIMITS;
        }
        if (rc < 0) {
            int err = -rc;
            sysbox_pidfd_send_signal(pidfd, SIGKILL);
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
            /* A child that failed first (the parent then saw its end of the socket close) said where. */
            int cstep = 0, cerr = 0;
            if (sysbox_read_report(errp[0], &cstep, &cerr) == 1) { step = cstep; err = cerr; }
            else if (step == 0) step = SYSBOX_STEP_USERNS;
            close(pidfd);
            close(syncp[1]);
            close(errp[0]);
            handle->failed_step = step;
            return -err;
        }
    }
    handle->pid = pid;
    handle->pidfd = pidfd;
    handle->sync_fd = syncp[1];
    handle->err_fd = errp[0];
    return pid;
}

int sysbox_read_report(int fd, int *step, int *err) {
    struct report r;
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = read(fd, (char *)&r + got, sizeof r - got);
        if (n < 0) { if (errno == EINTR) continue; return -errno; }
        if (n == 0) break;
        got += (size_t)n;
    }
    if (got == 0) return 0;
    if (got != sizeof r) return -EPROTO;
    *step = r.step;
    *err = r.err;
    return 1;
}

int sysbox_spawn_resume(sysbox_spawn_handle *handle, int *step) {
    char b = 1;
    ssize_t n;
    do { n = write(handle->sync_fd, &b, 1); } while (n < 0 && errno == EINTR);
    close(handle->sync_fd);
    handle->sync_fd = -1;
    int err = 0;
    *step = 0;
    int rc = sysbox_read_report(handle->err_fd, step, &err);
    close(handle->err_fd);
    handle->err_fd = -1;
    if (rc < 0) return rc;
    if (rc == 1) return -err;
    if (n != 1) return -EPIPE;
    return 0;
}

/* The file execvp would run for cmd: cmd itself when it has a slash, else the first PATH entry (from
 * envp, else the default) where cmd is a regular file executable for the caller's effective ids. 0, or
 * the errno execvp would end with: ENOENT, or EACCES when only unusable matches were found. Done here,
 * before the trampoline, so the trampoline itself stays a plain execve. */
static int resolve_command(const char *cmd, char *const *envp, char *out, size_t size) {
    size_t clen = strlen(cmd);
    if (clen == 0) return ENOENT;
    if (strchr(cmd, '/')) {
        if (clen + 1 > size) return ENAMETOOLONG;
        memcpy(out, cmd, clen + 1);
        return 0;
    }
    const char *path = SYSBOX_DEFAULT_PATH;
    for (char *const *e = envp; *e; e++) {
        if (strncmp(*e, "PATH=", 5) == 0) { path = *e + 5; break; }
    }
    int eacces = 0;
    const char *p = path;
    while (1) {
        const char *end = strchr(p, ':');
        size_t dlen = end ? (size_t)(end - p) : strlen(p);
        if (dlen + 1 + clen + 1 <= size) {
            size_t i = 0;
            if (dlen == 0) { out[i++] = '.'; } else { memcpy(out, p, dlen); i = dlen; }
            out[i++] = '/';
            memcpy(out + i, cmd, clen + 1);
            struct stat st;
            if (stat(out, &st) == 0) {
                if (S_ISREG(st.st_mode) && faccessat(AT_FDCWD, out, X_OK, AT_EACCESS) == 0) return 0;
                eacces = 1;
            } else if (errno == EACCES) {
                eacces = 1;
            }
        }
        if (!end) break;
        p = end + 1;
    }
    return eacces ? EACCES : ENOENT;
}

/* trampoline.S: a static ELF of a few hundred bytes (size 0 where it has no port yet). */
extern const unsigned char sysbox_trampoline_elf[];
extern const unsigned long sysbox_trampoline_elf_size;

/* The trampoline in a memfd sealed against writes, resizing and mode changes (F_SEAL_EXEC from Linux
 * 6.3, skipped before), at fd 4 or above and close-on-exec. -errno on failure. Only called where
 * trampoline.S has a port (sysbox_trampoline_elf_size > 0). */
static int trampoline_fd(void) {
    size_t size = (size_t)sysbox_trampoline_elf_size;
    int fd = (int)syscall(SYS_memfd_create, "sysbox-enter", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    /* EINVAL: a kernel before 6.3 (no MFD_EXEC); EACCES: vm.memfd_noexec=2, where the exec below fails
     * too and reports it. */
    if (fd < 0 && (errno == EINVAL || errno == EACCES)) fd = (int)syscall(SYS_memfd_create, "sysbox-enter", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return -errno;
    if (fd < 4) {
        int high = fcntl(fd, F_DUPFD_CLOEXEC, 4);
        int e = errno;
        close(fd);
        if (high < 0) return -e;
        fd = high;
    }
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, sysbox_trampoline_elf + done, size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { int e = n < 0 ? errno : EIO; close(fd); return -e; }
        done += (size_t)n;
    }
    int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL;
    if (fcntl(fd, F_ADD_SEALS, seals | F_SEAL_EXEC) < 0 && (errno != EINVAL || fcntl(fd, F_ADD_SEALS, seals) < 0)) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static void block_forwarded(void);

/* What the trampoline does, for an architecture without one (same modes; see trampoline.S). */
static void __attribute__((noreturn)) enter_directly(char mode, const char *path, char *const *argv, char *const *envp) {
    if (mode != 'i') {
        pid_t pid = _Fork();
        if (pid < 0) fail(3, SYSBOX_STEP_FORK, errno);
        if (pid > 0) {
            close(3);
            sysbox_forward_signals(pid);
            int status = 0;
            while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR) _exit(255);
            }
            if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
            if (WIFSIGNALED(status)) _exit(128 + WTERMSIG(status));
            _exit(255);
        }
        setsid();
        if (mode == 't' && ioctl(0, TIOCSCTTY, 0) < 0) fail(3, SYSBOX_STEP_PTY, errno);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    fcntl(3, F_SETFD, FD_CLOEXEC);
    execve(path, argv, envp);
    fail(3, SYSBOX_STEP_EXEC, errno);
}

/* The last step of a container process: execs the trampoline from a sealed memfd with the error pipe
 * as fd 3, so that no process in the container ever runs the host's sysbox binary (its
 * /proc/<pid>/exe is the memfd, even for a `#!/proc/self/exe` command). Mode 'i' (init), 'e' (exec
 * with pipes) or 't' (exec on a pty at fd 0). Fds from 4 up must already be close-on-exec. */
static void __attribute__((noreturn)) enter(int ef, char mode, const char *path, char *const *argv, char *const *envp) {
    /* No port for this architecture: the same steps without it. Any failure to make the memfd (even
     * ENOSYS from a seccomp filter) is an error, never a silent fallback to the unprotected path. */
    int ported = sysbox_trampoline_elf_size > 0;
    int tfd = ported ? trampoline_fd() : -1;
    if (ported && tfd < 0) fail(ef, SYSBOX_STEP_TRAMPOLINE, -tfd);
    if (ef != 3) {
        if (dup2(ef, 3) < 0) fail(ef, SYSBOX_STEP_TRAMPOLINE, errno);
    } else if (fcntl(3, F_SETFD, 0) < 0) {
        fail(ef, SYSBOX_STEP_TRAMPOLINE, errno);
    }
    if (mode != 'i') block_forwarded();
    size_t argc = 0;
    while (argv[argc]) argc++;
    /* targv lives on this stack: init's may be the 256 KiB one of the clone() fallback. */
    if (argc > (mode == 'i' ? 1024u : 65536u)) fail(3, SYSBOX_STEP_EXEC, E2BIG);
    if (!ported) enter_directly(mode, path, argv, envp);
    const char *targv[argc + 3];
    char m[2] = { mode, 0 };
    targv[0] = m;
    targv[1] = path;
    for (size_t i = 0; i <= argc; i++) targv[i + 2] = argv[i];
    syscall(SYS_execveat, tfd, "", targv, envp, AT_EMPTY_PATH);
    fail(3, SYSBOX_STEP_TRAMPOLINE, errno);
}

/* One byte and room for one SCM_RIGHTS fd: the message both ends of an fd transfer use. */
struct fd_msg {
    char byte;
    struct iovec iov;
    struct msghdr msg;
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
};

static void fd_msg_init(struct fd_msg *m) {
    memset(m, 0, sizeof *m);
    m->byte = 'p';
    m->iov.iov_base = &m->byte;
    m->iov.iov_len = 1;
    m->msg.msg_iov = &m->iov;
    m->msg.msg_iovlen = 1;
    m->msg.msg_control = m->u.buf;
    m->msg.msg_controllen = sizeof m->u.buf;
}

static int send_fd(int sock, int fd) {
    struct fd_msg m;
    fd_msg_init(&m);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m.msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    ssize_t n;
    do { n = sendmsg(sock, &m.msg, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : 0;
}

int sysbox_recv_fd(int sock) {
    struct fd_msg m;
    fd_msg_init(&m);
    ssize_t n;
    do { n = recvmsg(sock, &m.msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    if (n < 0) return -errno;
    if (n == 0) return -EPIPE;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m.msg);
    if (!cm || cm->cmsg_type != SCM_RIGHTS) return -EPROTO;
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof(int));
    return fd;
}

static void __attribute__((noreturn)) exec_helper(const sysbox_exec_config *c, int ef, int placed) {
    reset_signals();
    prctl(PR_SET_DUMPABLE, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    pid_t parent = getppid();
    /* Nothing of the CLI (its database, pipes, files) may reach the container's namespaces. */
    int keep[] = { ef, c->pidfd, c->pty_socket, c->stdio[0], c->stdio[1], c->stdio[2], c->cgroup_fd };
    close_all_except(keep, 7);
    int jerr = join_cgroups(c->cgroup_tasks, c->cgroup_task_count, c->cgroup_fd, placed);
    if (jerr) fail(ef, SYSBOX_STEP_CGROUP_JOIN, jerr);
    if (c->cgroup_fd >= 0) close(c->cgroup_fd);
    /* The hard limits the command needs raised while still host root (set exactly below). */
    int lrc = raise_rlimits(0, c->rlimits, c->rlimit_count);
    if (lrc < 0) fail(ef, SYSBOX_STEP_RLIMITS, -lrc);
    /* All of them; the PID namespace applies to children only: the trampoline's fork lands in it, this
     * process never shows in the container. */
    int nsflags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWCGROUP;
    if (setns(c->pidfd, nsflags | (c->userns ? CLONE_NEWUSER : 0)) < 0)
        fail(ef, SYSBOX_STEP_SETNS, errno);
    /* In a user namespace this process is still host root (unmapped there): become the namespace's
     * root first, so that the switch to a non-root user below drops every capability, as it does for
     * root (the kernel clears them only when the ids leave the namespace's root). */
    if (c->userns && (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0)) fail(ef, SYSBOX_STEP_SETUID, errno);
    close(c->pidfd);
    if (c->pty_socket >= 0) {
        int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0) fail(ef, SYSBOX_STEP_PTY, errno);
        int unlock = 0;
        if (ioctl(master, TIOCSPTLCK, &unlock) < 0) fail(ef, SYSBOX_STEP_PTY, errno);
        int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0) fail(ef, SYSBOX_STEP_PTY, errno);
        int rc = send_fd(c->pty_socket, master);
        if (rc < 0) fail(ef, SYSBOX_STEP_PTY, -rc);
        close(master);
        close(c->pty_socket);
        /* The command's child takes it as its controlling terminal (trampoline mode 't'). */
        if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0) fail(ef, SYSBOX_STEP_STDIO, errno);
        if (slave > 2) close(slave);
    } else {
        for (int i = 0; i < 3; i++) {
            if (c->stdio[i] != i && dup2(c->stdio[i], i) < 0) fail(ef, SYSBOX_STEP_STDIO, errno);
        }
    }
    /* The container's resource limits, exactly: the command inherits them. */
    lrc = apply_rlimits(c->rlimits, c->rlimit_count);
    if (lrc < 0) fail(ef, SYSBOX_STEP_RLIMITS, -lrc);
    /* Capabilities first, while still root (dropping from the bounding set needs CAP_SETPCAP): a
     * non-root command that runs a setuid-root binary gets the reduced set too. */
    drop_capabilities(ef, c->drop_caps);
    /* Then the seccomp filter, while still root: without no_new_privs, loading it needs CAP_SYS_ADMIN,
     * which a non-root user loses at the switch below. Everything after it is allowed by the policy. */
    load_seccomp(ef, c->seccomp_filter, c->seccomp_length);
    /* Raw syscalls: glibc's wrappers may take locks held by other threads of the forked CLI. */
    if (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setresgid, c->gid, c->gid, c->gid) < 0 ||
        syscall(SYS_setresuid, c->uid, c->uid, c->uid) < 0)
        fail(ef, SYSBOX_STEP_SETUID, errno);
    /* The switch cleared the parent-death signal. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) fail(ef, SYSBOX_STEP_SETUID, ESRCH);
    /* Then the directory, as the user: a directory the user may not enter is refused. */
    if (chdir(c->cwd) < 0) fail(ef, SYSBOX_STEP_CHDIR, errno);
    /* The working directory must be inside the container's root (not reached through a leaked fd
     * or a /proc link): the kernel then reports it as an absolute path. */
    char cwd[8];
    long got = syscall(SYS_getcwd, cwd, sizeof cwd);
    if (got < 0 && errno != ERANGE) fail(ef, SYSBOX_STEP_CHDIR, errno);
    if (got >= 0 && cwd[0] != '/') fail(ef, SYSBOX_STEP_CHDIR, EXDEV);
    char path[4096];
    int rc = resolve_command(c->argv[0], c->envp, path, sizeof path);
    if (rc != 0) fail(ef, SYSBOX_STEP_EXEC, rc);
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) fail(ef, SYSBOX_STEP_CLOSE_FDS, errno);
    enter(ef, c->pty_socket >= 0 ? 't' : 'e', path, c->argv, c->envp);
}

int sysbox_exec(const sysbox_exec_config *config, int *err_fd) {
    int errp[2];
    if (pipe2(errp, O_CLOEXEC) < 0) return -errno;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    /* Straight into init's cgroup2 directory where it can (no migration); else a plain fork that
     * joins it by writing cgroup.procs. */
    pid_t pid = -ENOSYS;
    if (config->cgroup_fd >= 0) {
        pid = clone_into(config->cgroup_fd, 0, NULL);
        if (pid == 0) exec_helper(config, errp[1], 1);
    }
    int e = pid < 0 ? -pid : 0;
    if (pid == -ENOSYS) {
        pid = _Fork();
        if (pid == 0) exec_helper(config, errp[1], 0);
        e = errno;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(errp[1]);
    if (pid < 0) { close(errp[0]); return -e; }
    *err_fd = errp[0];
    return pid;
}

/* "error TEXT N\n" on fd 3 (the status pipe), without stdio: the child of a fork. */
static void report_status_error(const char *text, int err) {
    char buf[192];
    size_t n = 0;
    const char *prefix = "error ";
    for (const char *p = prefix; *p && n < sizeof buf - 16; p++) buf[n++] = *p;
    for (const char *p = text; *p && n < sizeof buf - 16; p++) buf[n++] = *p;
    char digits[12];
    int d = 0;
    unsigned v = (unsigned)err;
    do { digits[d++] = (char)('0' + v % 10); v /= 10; } while (v && d < 11);
    while (d > 0) buf[n++] = digits[--d];
    buf[n++] = '\n';
    (void)!write(3, buf, n);
}

int sysbox_spawn_detached(const char *path, char *const argv[], char *const envp[], const int fds[4], int cgroup_fd, int flags) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = -ENOSYS;
    if (cgroup_fd >= 0) pid = clone_into(cgroup_fd, 0, NULL);
    int e = 0;
    /* Any failure there (the directory removed meanwhile by a monitor leaving it: ENODEV) only costs
     * the process a move of its own later. */
    if (pid < 0) {
        pid = _Fork();
        e = errno;
    }
    if (pid == 0) {
        reset_signals();
        setsid();
        /* Above every fd that may be a target first, then into place (fds may overlap 0-3). */
        int high[4];
        for (int i = 0; i < 4; i++) high[i] = fds[i] >= 0 ? fcntl(fds[i], F_DUPFD_CLOEXEC, 10) : -1;
        for (int i = 0; i < 4; i++) {
            if (high[i] >= 0) dup2(high[i], i);
            else close(i);
        }
        syscall(SYS_close_range, 4U, ~0U, 0);
        if ((flags & SYSBOX_DETACHED_OWN_MNTNS) &&
            (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)) {
            report_status_error("cannot give the monitor a mount namespace of its own (unshare CLONE_NEWNS, mount MS_SLAVE): errno ", errno);
            _exit(127);
        }
        execve(path, argv, envp);
        _exit(127);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return pid < 0 ? -e : pid;
}

int sysbox_pidfd_open(pid_t pid) {
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : fd;
}

int sysbox_pidfd_send_signal(int pidfd, int sig) {
    return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

struct sysbox_open_how { uint64_t flags; uint64_t mode; uint64_t resolve; };

int sysbox_openat_in_root(int dirfd, const char *path, int flags, mode_t mode) {
    struct sysbox_open_how how = { (uint64_t)(flags | O_CLOEXEC), (uint64_t)((flags & O_CREAT) ? mode : 0), 0x10 | 0x02 };
    /* 0x10 RESOLVE_IN_ROOT, 0x02 RESOLVE_NO_MAGICLINKS */
    long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    return fd < 0 ? -errno : (int)fd;
}

int sysbox_openat_no_xdev(int dirfd, const char *name, int flags, mode_t mode) {
    struct sysbox_open_how how = { (uint64_t)(flags | O_CLOEXEC), (uint64_t)((flags & O_CREAT) ? mode : 0), 0x08 | 0x01 | 0x04 | 0x02 };
    /* 0x08 RESOLVE_BENEATH, 0x01 RESOLVE_NO_XDEV, 0x04 RESOLVE_NO_SYMLINKS, 0x02 RESOLVE_NO_MAGICLINKS */
    long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof how);
    return fd < 0 ? -errno : (int)fd;
}

int sysbox_mount_restrict_tree(const char *path, unsigned long ms_flags) {
    uint64_t set = ((ms_flags & MS_RDONLY) ? 0x1 : 0) | ((ms_flags & MS_NOSUID) ? 0x2 : 0) | ((ms_flags & MS_NODEV) ? 0x4 : 0) |
                   ((ms_flags & MS_NOEXEC) ? 0x8 : 0); /* MOUNT_ATTR_RDONLY, _NOSUID, _NODEV, _NOEXEC */
    struct sysbox_mount_attr attr = { set, 0, 0, 0 };
    return syscall(SYS_mount_setattr, AT_FDCWD, path, SYSBOX_AT_RECURSIVE, &attr, sizeof attr) < 0 ? -errno : 0;
}

long long sysbox_fs_type(const char *path) {
    struct statfs fs;
    if (statfs(path, &fs) < 0) return -errno;
    return (long long)(unsigned long)fs.f_type;
}

int sysbox_thread_fsids(uid_t uid, gid_t gid) {
    syscall(SYS_setfsgid, gid);
    syscall(SYS_setfsuid, uid);
    /* Both return the previous id: asking again with an invalid id tells what is set now. */
    if ((uid_t)syscall(SYS_setfsuid, (uid_t)-1) != uid || (gid_t)syscall(SYS_setfsgid, (gid_t)-1) != gid) return -EPERM;
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &hdr, data) < 0) return -errno;
    data[0].effective = data[0].permitted;
    data[1].effective = data[1].permitted;
    if (syscall(SYS_capset, &hdr, data) < 0) return -errno;
    return 0;
}

int sysbox_set_winsize(int fd, unsigned short rows, unsigned short cols) {
    struct winsize ws = { rows, cols, 0, 0 };
    return ioctl(fd, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

int sysbox_get_winsize(int fd, unsigned short *rows, unsigned short *cols) {
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) < 0) return -errno;
    *rows = ws.ws_row;
    *cols = ws.ws_col;
    return 0;
}

int sysbox_open_pty(char *name, int name_len) {
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return -errno;
    if (grantpt(fd) < 0 || unlockpt(fd) < 0 || ptsname_r(fd, name, (size_t)name_len) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int sysbox_pty_name(int master, char *name, int name_len) {
    int rc = ptsname_r(master, name, (size_t)name_len);
    return rc == 0 ? 0 : -rc;
}

static volatile pid_t forward_target = 0;

static void forward_handler(int sig) {
    int saved = errno;
    if (forward_target > 0) kill(forward_target, sig);
    errno = saved;
}

static const int forwarded[] = { SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2 };

/* Blocks the forwarded signals and SIGCHLD, for the trampoline's sigtimedwait loop. */
static void block_forwarded(void) {
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) sigaddset(&set, forwarded[i]);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
}

int sysbox_forward_signals(pid_t pid) {
    forward_target = pid;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = pid > 0 ? forward_handler : SIG_DFL;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) {
        if (sigaction(forwarded[i], &sa, NULL) < 0) return -errno;
        sigaddset(&set, forwarded[i]);
    }
    /* A caller started with these blocked (e.g. by a test runner's thread) must still see them. */
    if (pid > 0) pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    return 0;
}

int sysbox_sigrtmin(void) { return SIGRTMIN; }

int sysbox_unshare_net(void) { return unshare(CLONE_NEWNET) < 0 ? -errno : 0; }

int sysbox_setns_net(int fd) { return setns(fd, CLONE_NEWNET) < 0 ? -errno : 0; }

int sysbox_close_from(int first) {
    return syscall(SYS_close_range, (unsigned)first, ~0U, 0) < 0 ? -errno : 0;
}

const char *sysbox_step_name(int step) {
    switch (step) {
#define SYSBOX_STEP_CASE(name, number, text) case number: return text;
    SYSBOX_STEPS(SYSBOX_STEP_CASE)
#undef SYSBOX_STEP_CASE
    }
    return NULL;
}
