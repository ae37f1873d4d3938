// CSysbox: the only C in sysbox. It holds what Swift cannot do safely: the window between clone/fork and
// execve (container init spawn, exec into a container's namespaces), GNU-only prototypes and kernel
// constants. Every function is prefixed sysbox_, returns >= 0 on success and -errno on failure. Failures
// in a child are reported to the parent as {step, errno} over a CLOEXEC pipe; EOF means execve succeeded.
// Children never allocate memory: every string and array is prepared by the caller before the call.
#ifndef CSYSBOX_H
#define CSYSBOX_H

#include <stdint.h>
#include <sys/types.h>

// Kernel ABI for SysboxNetlink (rtnetlink messages, attributes, link kinds).
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/veth.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

/// O_PATH (GNU-only in glibc's headers): an fd that only names a file.
#define SYSBOX_O_PATH 010000000

/// Steps a child reports when it fails, in the order they run.
typedef enum {
    SYSBOX_STEP_NONE = 0,
    SYSBOX_STEP_SYNC_WAIT = 1,
    SYSBOX_STEP_UNSHARE_CGROUP = 2,
    SYSBOX_STEP_MOUNT_PRIVATE = 3,
    SYSBOX_STEP_MOUNT_ROOTFS = 4,
    SYSBOX_STEP_CHDIR_ROOTFS = 5,
    SYSBOX_STEP_MOUNT_PROC = 6,
    SYSBOX_STEP_MOUNT_SYS = 7,
    SYSBOX_STEP_MOUNT_DEV = 8,
    SYSBOX_STEP_MKNOD = 9,
    SYSBOX_STEP_MOUNT_DEVPTS = 10,
    SYSBOX_STEP_MOUNT_SHM = 11,
    SYSBOX_STEP_MOUNT_MQUEUE = 12,
    SYSBOX_STEP_SYMLINKS = 13,
    SYSBOX_STEP_CONSOLE = 14,
    SYSBOX_STEP_MOUNT_DISK = 15,
    SYSBOX_STEP_MASK = 16,
    SYSBOX_STEP_READONLY = 17,
    SYSBOX_STEP_PIVOT_ROOT = 18,
    SYSBOX_STEP_HOSTNAME = 19,
    SYSBOX_STEP_LOOPBACK = 20,
    SYSBOX_STEP_CAPS = 21,
    SYSBOX_STEP_STDIO = 22,
    SYSBOX_STEP_CLOSE_FDS = 23,
    SYSBOX_STEP_EXEC = 24,
    SYSBOX_STEP_SETNS = 25,
    SYSBOX_STEP_CGROUP_JOIN = 26,
    SYSBOX_STEP_FORK = 27,
    SYSBOX_STEP_CHDIR = 28,
    SYSBOX_STEP_SETUID = 29,
    SYSBOX_STEP_PTY = 30,
    SYSBOX_STEP_MOUNT_CGROUP = 31,
    SYSBOX_STEP_FILES = 32,
    SYSBOX_STEP_MOUNT_RUN = 33,
    SYSBOX_STEP_TRAMPOLINE = 34,
} sysbox_step;

/// A bind mount into the container (a disk device, a mask), paths as seen before pivot_root.
typedef struct {
    const char *source;   // host path (absolute), or NULL for a tmpfs: empty and read-only (a directory mask) when
                          // readonly, else a writable one (mode 755, /run)
    const char *target;   // path relative to the rootfs; resolved component by component inside it
    int readonly;
    int create;           // 0: the target must exist (skipped when missing); 1: create a directory; 2: a file
    unsigned long keep_flags;  // MS_NOSUID|MS_NODEV|MS_NOEXEC of the source mount, kept on a read-only remount
} sysbox_mount;

/// A filesystem mounted inside the container before pivot_root (cgroup hierarchies and their tmpfs).
/// fstype NULL with MS_REMOUNT in flags remounts `target` (e.g. read-only once filled).
typedef struct {
    const char *target;   // relative to the rootfs
    const char *fstype;
    const char *source;
    const char *options;
    unsigned long flags;
    int mkdir;            // create the target directory first
} sysbox_fsmount;

/// A file written into the container before init starts (e.g. /etc/hostname).
typedef struct {
    const char *target;   // relative to the rootfs; resolved inside it, created when missing
    const char *content;
    size_t length;
} sysbox_file;

/// Everything the container's first process needs.
typedef struct {
    const char *rootfs;           // absolute host path: the mount point of the root filesystem
    const char *rootfs_fstype;    // "overlay" to mount an overlay there first, or NULL to bind it onto itself
    const char *rootfs_options;   // overlay options (lowerdir=…,upperdir=…,workdir=…)
    const char *hostname;
    const char *console_path;     // host path of the console pty slave, bound onto /dev/console
    int console_fd;               // the same slave, opened: init's stdin/stdout/stderr
    const char *init_path;        // path of init inside the container
    char *const *argv;
    char *const *envp;
    const sysbox_mount *mounts;   // disk devices, then masks, in order
    int mount_count;
    const sysbox_file *files;
    int file_count;
    const char *const *rebind_paths;    // relative to the rootfs, bound onto themselves…
    const int *rebind_readonly;         // …then remounted read-only (1) or read-write (0)
    int rebind_count;
    const sysbox_fsmount *fs_mounts;    // extra filesystems after /sys (the cgroup tree), in order
    int fs_mount_count;
    uint64_t drop_caps;           // bit n set: drop capability n from the bounding set
    const char *const *cgroup_tasks;    // host v1 `tasks` files the child joins first (writing 0)
    int cgroup_task_count;
    int cgroup_fd;                // the container's cgroup2 directory (hybrid or pure v2), or -1
} sysbox_spawn_config;

/// What sysbox_spawn returns: the child blocked on sync_fd until sysbox_spawn_resume.
typedef struct {
    pid_t pid;
    int pidfd;
    int sync_fd;   // parent's write end; one byte releases the child
    int err_fd;    // parent's read end of the error pipe
} sysbox_spawn_handle;

/// clone3(2) with CLONE_NEWNS|NEWUTS|NEWIPC|NEWPID|NEWNET|CLONE_PIDFD|CLONE_INTO_CGROUP (cgroup_fd), or
/// clone(2) where clone3 or CLONE_INTO_CGROUP is unknown (ENOSYS/E2BIG/EINVAL; the child then writes 0
/// to cgroup_fd's cgroup.procs itself). The child joins its v1 cgroups (writing 0 to each `tasks` file:
/// a single-threaded self-move, which unlike a cgroup.procs write waits for no RCU grace period), builds
/// the container's filesystem (all but the cgroup tree) while the parent attaches its NICs, blocks until
/// resumed, then unshares its cgroup namespace (its cgroups become the root), mounts the cgroup tree,
/// pivots into the root filesystem and execs init. A failure before the release is reported on err_fd
/// at once (the child exits; see sysbox_read_report). Returns the child's pid, or -errno (EPERM: not
/// root; ENOMEM/EAGAIN: resource limits; EBUSY/EOPNOTSUPP: cgroup_fd cannot take processes).
int sysbox_spawn(const sysbox_spawn_config *config, sysbox_spawn_handle *handle);

/// Starts `path` detached, as posix_spawn with POSIX_SPAWN_SETSID would, but created directly in the
/// cgroup2 directory `cgroup_fd` (clone3 CLONE_INTO_CGROUP; -1, a kernel without it, or a directory
/// that cannot take it: where the caller is, so the process moves itself later): fds[0..3] become its fds 0-3 (-1: closed), every
/// other fd is closed, signals are default and unblocked. Returns the pid, or -errno of the clone; an
/// execve failure makes the child exit with 127.
int sysbox_spawn_detached(const char *path, char *const argv[], char *const envp[], const int fds[4], int cgroup_fd);

/// A writable snapshot of the subvolume `source` named `name` in the directory `dest_dir`
/// (BTRFS_IOC_SNAP_CREATE_V2; the kernel commits it). 0, or -errno: ENOTTY/EINVAL when `source` is not a
/// subvolume or not on btrfs, EXDEV across filesystems, EEXIST when `name` exists.
int sysbox_btrfs_snapshot(const char *source, const char *dest_dir, const char *name);

/// Deletes the subvolume `name` in the directory `parent_dir` (BTRFS_IOC_SNAP_DESTROY). 0, or -errno:
/// ENOTEMPTY when subvolumes are nested inside it (delete those first), EINVAL/ENOTTY when it is not a
/// subvolume.
int sysbox_btrfs_destroy(const char *parent_dir, const char *name);

/// Releases the child and waits for execve: 0 when init runs, else -errno with *step set to the failing
/// step. Closes sync_fd and err_fd.
int sysbox_spawn_resume(sysbox_spawn_handle *handle, int *step);

/// What sysbox_exec needs to run a command in a running container.
typedef struct {
    int pidfd;                        // pidfd of the container's init
    const char *const *cgroup_tasks;  // host v1 `tasks` files the helper joins (writing 0, before setns)
    int cgroup_task_count;
    int cgroup_fd;                    // the cgroup2 directory of init (hybrid or pure v2), or -1
    const char *cwd;
    char *const *argv;
    char *const *envp;
    uid_t uid;
    gid_t gid;
    int stdio[3];                     // used when pty_socket < 0
    int pty_socket;                   // >= 0: allocate a pty in the container's devpts, send its master here
    uint64_t drop_caps;
} sysbox_exec_config;

/// Forks a helper that joins the cgroups and namespaces of the container (setns on the pidfd), makes
/// itself non-dumpable, forks the command (so it lands in the pid namespace), waits for it and exits
/// with its status (128+signal when killed). The error pipe (read end in *err_fd) reports {step, errno};
/// EOF means the command was exec'd. Returns the helper's pid or -errno.
int sysbox_exec(const sysbox_exec_config *config, int *err_fd);

/// Reads a {step, errno} report from an error pipe: 0 at EOF (success), 1 with *step/*err set, -errno.
int sysbox_read_report(int fd, int *step, int *err);

/// pidfd_open(2). -ESRCH: no such process.
int sysbox_pidfd_open(pid_t pid);

/// pidfd_send_signal(2).
int sysbox_pidfd_send_signal(int pidfd, int sig);

/// pipe2(O_CLOEXEC).
int sysbox_pipe_cloexec(int fds[2]);

/// openat2(2) with RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS: opens `path` as if `dirfd` were `/`, so
/// symlinks and `..` cannot leave it. Returns an fd or -errno (ENOSYS before Linux 5.6).
int sysbox_openat_in_root(int dirfd, const char *path, int flags, mode_t mode);

/// Receives one fd sent with SCM_RIGHTS over a unix socket. Returns the fd or -errno.
int sysbox_recv_fd(int sock);

/// statfs(2)'s f_type of the filesystem holding `path` (e.g. 0x9123683E for btrfs), or -errno.
long long sysbox_fs_type(const char *path);

/// Sets the window size of a terminal.
int sysbox_set_winsize(int fd, unsigned short rows, unsigned short cols);

/// Reads the window size of a terminal.
int sysbox_get_winsize(int fd, unsigned short *rows, unsigned short *cols);

/// Opens a new pty master on the host (/dev/ptmx), unlocked; writes the slave's path to `name`.
int sysbox_open_pty(char *name, int name_len);

/// The slave path of the pty whose master is `master` (ptsname_r: TIOCGPTN). 0, or -errno (ENOTTY: not
/// a pty master).
int sysbox_pty_name(int master, char *name, int name_len);

/// Forwards SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGUSR1 and SIGUSR2 received by this process to `pid`
/// (a handler that only calls kill(2)); `pid` 0 stops forwarding (back to default actions).
int sysbox_forward_signals(pid_t pid);

/// `sysbox __monitor-idle …` (monitor_idle.c): the idle phase of a container's monitor, exec'd by the
/// Swift monitor once init runs, so an idle monitor is the small front rather than the Swift CLI. Serves
/// the console until init exits, then execs `MANAGER __monitor-resume NAME STATUS FDS…`. Returns only
/// on bad arguments or a failed exec (the exit code to use).
int sysbox_monitor_idle(int argc, char **argv, char **envp);

/// The `sysbox` front's fast path for a plain `sysbox exec NAME -- CMD...` (fastexec.c): when it applies
/// (no option, no terminal, a valid exec cache of the running container), runs the command and exits
/// with its status (_exit); otherwise returns, having changed nothing, and the Swift CLI takes over.
void sysbox_fast_exec(int argc, char **argv, char **envp);

/// unshare(CLONE_NEWNET) for the calling thread only: a fresh, empty network namespace (tests, and work
/// that must not touch the host's). Returns 0 or -errno.
int sysbox_unshare_net(void);

/// setns(fd, CLONE_NEWNET) for the calling thread (fd from /proc/PID/ns/net or a pidfd). 0 or -errno.
int sysbox_setns_net(int fd);

/// The value of SIGRTMIN (not a constant in glibc).
int sysbox_sigrtmin(void);

/// close_range(first, ~0U, 0): closes every fd from `first` up.
int sysbox_close_from(int first);

#endif
