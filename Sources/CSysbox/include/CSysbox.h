// CSysbox: the only C in sysbox. It holds what Swift cannot do safely: the window between clone/fork and
// execve (container init spawn, exec into a container's namespaces), GNU-only prototypes and kernel
// constants. Every function is prefixed sysbox_, returns >= 0 on success and -errno on failure. Failures
// in a child are reported to the parent as {step, errno} over a CLOEXEC pipe; EOF means execve succeeded.
// Children never allocate memory: every string and array is prepared by the caller before the call.
#ifndef CSYSBOX_H
#define CSYSBOX_H

/* The steps a child reports when it fails ({step, errno} on its error pipe), in the order they run,
 * with the words a message uses for each. This list is their only source: C and Swift use the enum
 * below (Swift switches on the imported `sysbox_step` and names a step with sysbox_step_name), and
 * trampoline.S, which includes this header, gets each number as an assembler constant. */
#define SYSBOX_STEPS(X) \
    X(NONE, 0, "none") \
    X(SYNC_WAIT, 1, "waiting for the monitor") \
    X(UNSHARE_CGROUP, 2, "creating the cgroup namespace") \
    X(MOUNT_PRIVATE, 3, "making mounts private") \
    X(MOUNT_ROOTFS, 4, "mounting the root filesystem") \
    X(CHDIR_ROOTFS, 5, "entering the root filesystem") \
    X(MOUNT_PROC, 6, "mounting /proc") \
    X(MOUNT_SYS, 7, "mounting /sys") \
    X(MOUNT_DEV, 8, "mounting /dev") \
    X(MKNOD, 9, "creating device nodes") \
    X(MOUNT_DEVPTS, 10, "mounting /dev/pts") \
    X(MOUNT_SHM, 11, "mounting /dev/shm") \
    X(MOUNT_MQUEUE, 12, "mounting /dev/mqueue") \
    X(SYMLINKS, 13, "creating /dev links") \
    X(CONSOLE, 14, "binding /dev/console") \
    X(MOUNT_DISK, 15, "mounting a disk device") \
    X(MASK, 16, "masking a kernel file") \
    X(READONLY, 17, "making kernel tunables read-only") \
    X(PIVOT_ROOT, 18, "pivoting into the root filesystem") \
    X(HOSTNAME, 19, "setting the hostname") \
    X(LOOPBACK, 20, "bringing lo up") \
    X(CAPS, 21, "dropping capabilities") \
    X(STDIO, 22, "setting up stdio") \
    X(CLOSE_FDS, 23, "closing file descriptors") \
    X(EXEC, 24, "executing") \
    X(SETNS, 25, "joining the container's namespaces") \
    X(CGROUP_JOIN, 26, "joining the container's cgroups") \
    X(FORK, 27, "forking") \
    X(CHDIR, 28, "changing directory") \
    X(SETUID, 29, "switching user") \
    X(PTY, 30, "allocating a terminal") \
    X(MOUNT_CGROUP, 31, "mounting the cgroup tree") \
    X(FILES, 32, "writing a file into the container") \
    X(MOUNT_RUN, 33, "mounting a tmpfs on /run") \
    X(TRAMPOLINE, 34, "starting the exec trampoline (a sealed memfd)") \
    X(SECCOMP, 35, "loading the seccomp filter") \
    X(USERNS, 36, "setting up the user namespace") \
    X(IDMAP, 37, "attaching an idmapped mount") \
    X(RLIMITS, 38, "setting resource limits (limits.kernel.*)") \
    X(SYSCTL, 39, "writing a sysctl (linux.sysctl.*)")

#ifdef __ASSEMBLER__
#define SYSBOX_STEP_EQU(name, number, text) .equ SYSBOX_STEP_##name, number;
SYSBOX_STEPS(SYSBOX_STEP_EQU)
#else

#include <stdint.h>
#include <sys/types.h>
// lgetxattr/lsetxattr (Storage/OverlayMarkers.swift): Glibc's module map leaves sys/xattr.h out.
#include <sys/xattr.h>

// Kernel ABI for SysboxNetlink (rtnetlink messages, attributes, link kinds).
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/veth.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

/// The PATH of init and of every exec unless `environment.PATH` sets one, and where a command without a
/// slash is looked up when its environment has no PATH (the one home of this list: Swift imports it).
#define SYSBOX_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/// O_PATH (GNU-only in glibc's headers): an fd that only names a file.
#define SYSBOX_O_PATH 010000000

/// Steps a child reports when it fails (see SYSBOX_STEPS).
typedef enum __attribute__((enum_extensibility(closed))) {
#define SYSBOX_STEP_ENUM(name, number, text) SYSBOX_STEP_##name = number,
    SYSBOX_STEPS(SYSBOX_STEP_ENUM)
#undef SYSBOX_STEP_ENUM
} sysbox_step;

/// The words for a step in a message ("mounting /proc"); NULL for a number not in the list.
const char *sysbox_step_name(int step);


/// What one entry of a start plan does (StartPlan.Mount.Kind in Swift, Runtime/StartPlan.swift, names
/// each of these in start.json). The child executes the entries in order, one switch in spawn.c
/// (run_entry); it decides nothing itself. Targets are relative to the root filesystem (the cwd)
/// unless said otherwise; "resolved" means opened component by component inside the rootfs with
/// O_NOFOLLOW (a symlink in the image cannot lead a mount out of it) and mounted through that fd.
typedef enum __attribute__((enum_extensibility(closed))) {
    SYSBOX_ENTRY_ROOTFS = 1,  // mount(source, target, fstype, flags, options) at an absolute target, then chdir there;
                              // in a user namespace: without fstype, fchdir into the first IDMAPPED mount; with one,
                              // fsopen/fsconfig (options; relative lowerdir/upperdir/workdir are inside the first
                              // IDMAPPED mount)/fsmount, move_mount onto target, fchdir into it
    SYSBOX_ENTRY_DIRECTORY,   // resolved, created as a directory when missing (checks proc, sys, dev)
    SYSBOX_ENTRY_PROC,        // mount(source, target, fstype, flags, options); mkdir(target, mode) first when mode != 0
    SYSBOX_ENTRY_SYSFS,       // the same
    SYSBOX_ENTRY_TMPFS,       // the same; with create != 0 the target is resolved (and created) instead
    SYSBOX_ENTRY_DEV_NODE,    // mknod(target, S_IFCHR | mode, major:minor) (an existing one kept), chmod(mode)
    SYSBOX_ENTRY_DEVPTS,      // as PROC
    SYSBOX_ENTRY_MQUEUE,      // as PROC
    SYSBOX_ENTRY_SYMLINK,     // symlink(source, target)
    SYSBOX_ENTRY_CONSOLE,     // an empty file at target with the pty slave `source` bound on it; skipped when source is NULL
    SYSBOX_ENTRY_BIND,        // resolved (created as `create`), MS_BIND of source; then, with MS_RDONLY in flags, a
                              // remount MS_BIND|MS_REMOUNT|flags of the new mount's root
    SYSBOX_ENTRY_MASK_FILE,   // as BIND; skipped when the target is missing (create 0)
    SYSBOX_ENTRY_MASK_DIR,    // resolved tmpfs mount (source, fstype, flags, options); skipped when missing
    SYSBOX_ENTRY_FILE,        // content written to target (parents created, resolved; a non-regular file replaced)
    SYSBOX_ENTRY_REBIND,      // target bound onto itself, remounted MS_BIND|MS_REMOUNT|flags; skipped when missing
    SYSBOX_ENTRY_RELEASE,     // wait for the monitor's release (it attaches the NICs meanwhile), then unshare the
                              // cgroup namespace: the entries after it see the container's cgroups as the root
    SYSBOX_ENTRY_CGROUP,      // as PROC (a cgroup or cgroup2 hierarchy)
    SYSBOX_ENTRY_REMOUNT,     // as PROC (flags hold MS_REMOUNT)
    SYSBOX_ENTRY_SYSCTL,      // `content` (`length` bytes, one write) to the file `target` (proc/sys/..., opened
                              // O_WRONLY|O_NOFOLLOW relative to the rootfs: the container's own proc)
    SYSBOX_ENTRY_IDMAPPED,    // user namespace only: the parent made an idmapped clone of the host path `source`
                              // (open_tree OPEN_TREE_CLONE, then mount_setattr MOUNT_ATTR_IDMAP with the container's
                              // user namespace, and MS_RDONLY/NOSUID/NODEV/NOEXEC of `flags` as mount attributes); the
                              // child attaches it (move_mount) at `target`: an absolute host directory, opened before
                              // it became the namespace's root; with create != 0 (a disk) resolved in the rootfs (and
                              // created as `create`); else a directory inside the first IDMAPPED mount
} sysbox_entry_kind;

/// The most IDMAPPED entries a plan may hold.
#define SYSBOX_MAX_IDMAPPED 16

/// `create` of an entry whose target is resolved in the rootfs.
enum { SYSBOX_CREATE_NONE = 0, SYSBOX_CREATE_DIRECTORY = 1, SYSBOX_CREATE_FILE = 2 };

/// One entry of the start plan, as the child executes it (see sysbox_entry_kind).
typedef struct {
    sysbox_entry_kind kind;
    sysbox_step step;        // reported when this entry fails
    const char *target;
    const char *source;
    const char *fstype;
    const char *options;     // mount data
    unsigned long flags;     // MS_* flags
    unsigned int mode;       // mkdir mode (0: no mkdir) or device node mode
    int create;              // SYSBOX_CREATE_*
    unsigned int major, minor;
    const char *content;     // FILE
    size_t length;
} sysbox_entry;

/// One resource limit (limits.kernel.*): RLIMIT_* number, soft and hard (RLIM_INFINITY: ~0ULL).
typedef struct {
    int resource;
    unsigned long long soft, hard;
} sysbox_rlimit;

/// Everything the container's first process needs.
typedef struct {
    const char *hostname;
    int console_fd;               // the console pty slave, opened: init's stdin/stdout/stderr
    const char *init_path;        // path of init inside the container
    char *const *argv;
    char *const *envp;
    const sysbox_entry *entries;  // the start plan's mounts and files, in order
    int entry_count;
    uint64_t drop_caps;           // bit n set: drop capability n from the bounding set
    const char *const *cgroup_tasks;    // host v1 `tasks` files the child joins first (writing 0)
    int cgroup_task_count;
    int cgroup_fd;                // the container's cgroup2 directory (hybrid or pure v2), or -1
    const unsigned char *seccomp_filter;  // a cBPF program (see seccomp.bpf below), loaded last before exec
    unsigned int seccomp_length;          // its length in bytes (8 an instruction); 0: no filter
    /* A user namespace (an unprivileged container) when uid_map is not NULL: */
    const char *uid_map;          // what the parent writes to /proc/PID/uid_map ("0 1000000 65536\n"), or NULL
    const char *gid_map;          // and to gid_map (setgroups stays "allow": container root may call setgroups)
    const sysbox_rlimit *rlimits; // init's limits: the parent raises the hard limits above the current ones on the
    int rlimit_count;             // child (prlimit(2) as host root: also in a user namespace) before sysbox_spawn
                                  // returns; the child sets them all last before its exec (a low one cannot
                                  // hit the set-up)
} sysbox_spawn_config;

/// What sysbox_spawn returns: the child blocked on sync_fd until sysbox_spawn_resume.
typedef struct {
    pid_t pid;
    int pidfd;
    int sync_fd;   // parent's write end; one byte releases the child
    int err_fd;    // parent's read end of the error pipe
    int failed_step;  // when sysbox_spawn fails after the clone: the step (the child is reaped), else 0
} sysbox_spawn_handle;

/// clone3(2) with CLONE_NEWNS|NEWUTS|NEWIPC|NEWPID|NEWNET|CLONE_PIDFD|CLONE_INTO_CGROUP (cgroup_fd), or
/// clone(2) where clone3 or CLONE_INTO_CGROUP is unknown (ENOSYS/E2BIG/EINVAL; the child then writes 0
/// to cgroup_fd's cgroup.procs itself). The child joins its v1 cgroups (writing 0 to each `tasks` file:
/// a single-threaded self-move, which unlike a cgroup.procs write waits for no RCU grace period), builds
/// the container's filesystem by executing config->entries in order (the entries up to RELEASE run
/// while the parent attaches its NICs; RELEASE blocks until resumed and unshares the cgroup namespace),
/// pivots into the root filesystem and execs init. A failure before the release is reported on err_fd
/// at once (the child exits; see sysbox_read_report). Returns the child's pid, or -errno (EPERM: not
/// root; ENOMEM/EAGAIN: resource limits; EBUSY/EOPNOTSUPP: cgroup_fd cannot take processes).
/// With uid_map (a user namespace): CLONE_NEWUSER instead of NEWNET in the clone; the child joins its
/// cgroups, then waits while the parent writes uid_map and gid_map, opens /proc/PID/ns/user and makes
/// one idmapped detached mount per IDMAPPED entry (open_tree, mount_setattr), which it sends over a
/// socket (SCM_RIGHTS); the child opens the host paths its binds and idmapped mounts use (as host
/// root, still unmapped: it may search directories only host root may), becomes the namespace's root (setresgid/setresuid 0), unshares its network
/// namespace (so /proc/net and sysfs belong to it) and acknowledges; only then does this return (the
/// caller attaches NICs to that namespace). A failure on that way kills and reaps the child and
/// returns -errno with handle->failed_step set (USERNS, IDMAP: EINVAL/EPERM when the filesystem or
/// kernel cannot idmap; or the child's own step).
int sysbox_spawn(const sysbox_spawn_config *config, sysbox_spawn_handle *handle);

/// Starts `path` detached, as posix_spawn with POSIX_SPAWN_SETSID would, but created directly in the
/// cgroup2 directory `cgroup_fd` (clone3 CLONE_INTO_CGROUP; -1, a kernel without it, or a directory
/// that cannot take it: where the caller is, so the process moves itself later): fds[0..3] become its fds 0-3 (-1: closed), every
/// other fd is closed, signals are default and unblocked. With `SYSBOX_DETACHED_OWN_MNTNS` in `flags`
/// it gets a mount namespace of its own first (unshare(CLONE_NEWNS), then "/" made a recursive slave:
/// its mounts reach no other namespace and end with it); a failure there is written to fd 3 as
/// `error …` and the child exits with 127. Returns the pid, or -errno of the clone; an execve failure
/// makes the child exit with 127.
int sysbox_spawn_detached(const char *path, char *const argv[], char *const envp[], const int fds[4], int cgroup_fd, int flags);

/// `sysbox_spawn_detached` flag: the process starts in a mount namespace of its own.
#define SYSBOX_DETACHED_OWN_MNTNS 1

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
    const unsigned char *seccomp_filter;  // as in sysbox_spawn_config (loaded after the capabilities are
    unsigned int seccomp_length;          // dropped, before the user switch, which would lose CAP_SYS_ADMIN)
    int userns;                           // 1: the container has its own user namespace, joined with the others
                                          // (uid and gid are then the container's own ids)
    const sysbox_rlimit *rlimits;         // the hard ones raised by the helper first (prlimit64(2), still host root,
    int rlimit_count;                     // before setns), all set exactly before the capabilities drop; the
                                          // command inherits them
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

/// openat2(2) of one entry `name` of the directory `dirfd` with RESOLVE_BENEATH|RESOLVE_NO_XDEV|
/// RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS: never a symlink, never across a mount (a bind mount over
/// `name`, or `name` the root of a mount, is EXDEV). Returns an fd or -errno.
int sysbox_openat_no_xdev(int dirfd, const char *name, int flags, mode_t mode);

/// Receives one fd sent with SCM_RIGHTS over a unix socket. Returns the fd or -errno.
int sysbox_recv_fd(int sock);

/// statfs(2)'s f_type of the filesystem holding `path` (e.g. 0x9123683E for btrfs), or -errno.
long long sysbox_fs_type(const char *path);

/// mount_setattr(2) with AT_RECURSIVE on the mount at `path` and every mount below it: sets the
/// MS_RDONLY, MS_NOSUID, MS_NODEV and MS_NOEXEC bits of `ms_flags` (MOUNT_ATTR_RDONLY…; it only adds
/// flags). 0, or -errno: ENOSYS before Linux 5.12, EPERM without CAP_SYS_ADMIN over the mounts.
int sysbox_mount_restrict_tree(const char *path, unsigned long ms_flags);

/// Loads an eBPF device program (BPF_PROG_TYPE_CGROUP_DEVICE; `insns`: struct bpf_insn, 8 bytes each,
/// built by DeviceProgram in Swift) and attaches it to the cgroup2 directory `cgroup_dir`
/// (bpf(2) BPF_PROG_LOAD then BPF_PROG_ATTACH, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI: programs of child
/// cgroups run too and every one must allow). The kernel keeps it until the cgroup is removed. 0, or
/// -errno: EPERM without CAP_SYS_ADMIN (or CAP_BPF), EINVAL for a program the verifier refuses.
int sysbox_cgroup_device_program(const char *cgroup_dir, const unsigned char *insns, unsigned int length);

/// Sets the calling thread's filesystem uid and gid (setfsuid(2), setfsgid(2) as raw syscalls: they
/// change only this thread) and raises its effective capabilities back to its permitted set (capset(2)
/// for this thread: a change of the fsuid away from 0 clears CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER…).
/// Files this thread creates then belong to `uid`:`gid`, e.g. an unprivileged container's root, as
/// its idmapped mounts need (host root creating there gets EOVERFLOW). 0, or -errno (EPERM: the ids did
/// not take).
int sysbox_thread_fsids(uid_t uid, gid_t gid);

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

/// The exit code of an exec that failed before its command ran (the helper's {step, errno} report),
/// with its message (no "Error: " prefix) in `message`: 127 when the command was not found (EXEC with
/// ENOENT/ENOTDIR), 126 when it cannot be run (EXEC), 125 for anything sysbox could not set up (CHDIR
/// names `cwd`, as `--cwd` when `cwd_given`, else as the working directory sysbox chose: the user's
/// home or the exec cache's). `command` is shown as given (the caller quotes it). Both exec paths use
/// it: the front's fast path (fastexec.c) and the Swift CLI (Runtime/Exec.swift).
int sysbox_exec_failure(int step, int err, const char *command, const char *container, const char *cwd, int cwd_given,
                        char *message, size_t size);

/// "ENOENT (No such file or directory)": an errno's name and text, as sysbox's messages show it.
void sysbox_errno_text(int err, char *out, size_t size);

/* ---- exec.cache: containers/NAME/exec.cache ----
 * Written by the Swift CLI (ContainerExec.writeExecCache, Runtime/Exec.swift; the monitor rewrites the
 * `init` line after a reboot) and read by the front's fast path (sysbox_fast_exec, fastexec.c).
 * Text, one record a line, "\n"-terminated, mode 0600:
 *   sysbox-exec-cache 1           the first line exactly (the version; any other: the cache is ignored)
 *   init PID STARTTIME            init's pid and its start time (field 22 of /proc/PID/stat)
 *   cwd PATH                      the command's working directory in the container
 *   drop MASK                     capabilities dropped from the bounding set (decimal, bit n: cap n)
 *   userns 1                      the container has its own user namespace (joined too); absent: none
 *   cgroup CONTROLLERS MOUNTPOINT one a host hierarchy: CONTROLLERS "-" for cgroup2, else the v1
 *                                 controllers joined by ","; MOUNTPOINT has no space (at most 32)
 *   env KEY=VALUE                 the environment, sorted by key, values without a newline (at most 256)
 *   rlimit RESOURCE SOFT HARD     a resource limit of the command (limits.kernel.*, as init got them), decimal,
 *                                 18446744073709551615 for unlimited (at most 16)
 * Unknown lines are ignored; a missing or stale cache (init not the one named) sends exec down the
 * Swift path. Tests: ExecCacheTests (the Swift writer's lines, parsed by sysbox_exec_cache_parse). */
#define SYSBOX_EXEC_CACHE_MAGIC "sysbox-exec-cache 1\n"
#define SYSBOX_EXEC_CACHE_MAX_ENV 256
#define SYSBOX_EXEC_CACHE_MAX_CGROUPS 32
#define SYSBOX_EXEC_CACHE_MAX_RLIMITS 16

/// A parsed exec.cache: pointers into the (modified) text given to sysbox_exec_cache_parse.
typedef struct {
    long pid;
    unsigned long long start_time;
    const char *cwd;
    unsigned long long drop;
    int userns;
    char *env[SYSBOX_EXEC_CACHE_MAX_ENV + 1];   // NULL-terminated
    int env_count;
    const char *cgroup_controllers[SYSBOX_EXEC_CACHE_MAX_CGROUPS];  // "-": cgroup2
    const char *cgroup_mounts[SYSBOX_EXEC_CACHE_MAX_CGROUPS];
    int cgroup_count;
    sysbox_rlimit rlimits[SYSBOX_EXEC_CACHE_MAX_RLIMITS];
    int rlimit_count;
} sysbox_exec_cache;

/// Parses exec.cache text in place (newlines and separators become NULs). 0, or -EINVAL when the
/// first line is not SYSBOX_EXEC_CACHE_MAGIC or a `cgroup` line has no mount point.
int sysbox_exec_cache_parse(char *text, sysbox_exec_cache *out);

/* ---- seccomp: containers/NAME/seccomp.bpf (seccomp.c) ----
 * The container's seccomp filter, a classic BPF program exactly as seccomp(SECCOMP_SET_MODE_FILTER)
 * takes it: `struct sock_filter` instructions (8 bytes each, host byte order), nothing else, at most
 * SYSBOX_SECCOMP_MAX_INSNS, mode 0600. The Swift side builds it with libseccomp at every start
 * (SeccompPolicy, Runtime/Seccomp.swift: the rules below, sysbox_seccomp_build) and writes it before the
 * monitor runs; init (sysbox_spawn) and every exec'd command on both exec paths (the Swift CLI and the
 * front's fast path, fastexec.c) load these same bytes as their last step before exec, without
 * no_new_privs (setuid binaries keep working; the loader has CAP_SYS_ADMIN instead). A missing or
 * malformed file sends the fast path to the Swift one, which then builds the filter anew. */
#define SYSBOX_SECCOMP_MAX_INSNS 4096

/// Architectures of a rule (bits).
enum { SYSBOX_SECCOMP_X86_64 = 1, SYSBOX_SECCOMP_I386 = 2 };

/// Flags of sysbox_seccomp_build: no i386 table, so every i386 (`int $0x80`) syscall gets ENOSYS.
enum { SYSBOX_SECCOMP_DENY_I386 = 1 };

/// An argument condition: `(args[arg] & mask) == value` when masked, else `args[arg] == value`.
typedef struct {
    unsigned int arg;
    int masked;
    uint64_t mask;
    uint64_t value;
} sysbox_seccomp_cond;

/// A rule of the filter: `name` (libseccomp's syscall name) returns `err` (0: is allowed) on the architectures in
/// `arches` (SYSBOX_SECCOMP_* bits; an architecture without that syscall is skipped), when all of its
/// conditions hold.
typedef struct {
    const char *name;
    int err;
    int arches;
    const sysbox_seccomp_cond *conds;
    int cond_count;
} sysbox_seccomp_rule;

/// Builds the filter with libseccomp and exports it (seccomp_export_bpf through a memfd) into `out`:
/// what no rule matches is allowed (default_err 0) or gets default_err; x86_64 and i386 each with their
/// own syscall numbers (flags SYSBOX_SECCOMP_DENY_I386: no i386 table); any other architecture, and x32
/// (nr >= 0x40000000 on x86_64), gets ENOSYS; rules return their errno or allow (never a kill); no
/// no_new_privs. Returns the program's length in bytes, or -errno: ENOENT for an unknown name, E2BIG
/// when `size` is too small (more than SYSBOX_SECCOMP_MAX_INSNS), others from libseccomp or memfd_create.
int sysbox_seccomp_build(const sysbox_seccomp_rule *rules, int count, int default_err, int flags, unsigned char *out, size_t size);

/// The number of syscall `name` on `arch` (SYSBOX_SECCOMP_X86_64 or _I386), from libseccomp's tables:
/// >= 0, -ENOENT for a name libseccomp does not know, -ENOSYS when that architecture lacks it.
int sysbox_seccomp_syscall(const char *name, int arch);

/// The name of syscall `number` on `arch` (libseccomp's tables) into `out`: 1, or 0 when it has none
/// (or it does not fit).
int sysbox_seccomp_syscall_name(int number, int arch, char *out, size_t size);

/// Reads a seccomp.bpf file into `out` (at most `size` bytes; a longer file is refused): its length in
/// bytes, or -errno (EINVAL: empty, too long or not whole instructions). No allocation (the fast path
/// uses it).
int sysbox_seccomp_read(const char *path, unsigned char *out, size_t size);

/* ---- Read the same way by the Swift CLI and the C front (procfs.c) ---- */

/// Matches the lines of /proc/PID/cgroup text (modified in place: newlines become NULs) against the
/// host's hierarchies: `controllers[i]` is "-" for cgroup2 (a line with no controllers) or the v1
/// controllers joined by "," (compared as a set). Lines whose path is not absolute or holds ".." are
/// skipped. For the k-th matching line: which[k] = the first matching hierarchy, rel[k] = the path
/// ("/" for the root, pointing into text). Returns the number of matches (at most max).
int sysbox_proc_cgroup_match(char *text, const char *const *controllers, int count, int *which, const char **rel, int max);

/// 1 when `name` is a valid container name (LXD's hostname label: 1-63 ASCII letters, digits and "-",
/// not starting or ending with "-", not only digits), else 0. Names.problem(_:as: .container) says why.
int sysbox_valid_container_name(const char *name);

/* ---- The idle monitor: `__monitor-idle` and `__monitor-resume` ----
 * A container's monitor (Monitor.swift) sets the container up, then execs the small front (same
 * process: init stays its child, the fds and the monitor's flock stay) as
 *   sysbox __monitor-idle MANAGER NAME INIT_PID PIDFD MASTER SLAVE LISTENER LOCK LOG_PATH LOG_CAP
 *                         MANAGER_FD [CLIENT...]
 * (MANAGER: the path of sysbox-manager; MANAGER_FD: an O_PATH fd of that very binary, exec'd back
 * even if MANAGER was replaced meanwhile, or -1; the rest are fds, the console log's path and cap, and
 * the console clients already attached). When init exits, the front execs the Swift monitor back as
 *   sysbox-manager __monitor-resume NAME STATUS MASTER SLAVE LISTENER LOCK [CLIENT...]
 * (STATUS: init's wait status) with those fds open, which continues in Monitor.run(resume:).
 * Writers and readers: Monitor.idle and the CLI's `__monitor-resume` parser (Swift), sysbox-front's
 * main and sysbox_monitor_idle (C). */

/// `sysbox __monitor-idle …` (monitor_idle.c, arguments above): serves the console until init
/// exits, then execs `__monitor-resume`. Returns only on bad arguments or a failed exec (the exit code
/// to use).
int sysbox_monitor_idle(int argc, char **argv, char **envp);

/* Proxy devices (proxy.c). sysbox_proxy_listen: a bound (and, for TCP, listening) IPv4 socket,
 * CLOEXEC and non-blocking, or -errno (EADDRINUSE: the port is taken). sysbox_proxy_run: the
 * forwarder, `sysbox __proxy DEVICE PARENT LISTENFD tcp|udp CONNECT-ADDR CONNECT-PORT INIT-PID-FILE`,
 * run by the front. */
int sysbox_proxy_listen(int udp, const char *address, int port);
int sysbox_proxy_run(int argc, char **argv);

/// The console log of a container: appended to, keeping the newest half when it would pass `cap`.
typedef struct {
    int fd;
    long size;
    long cap;
} sysbox_console_log;

/// Opens (creates, mode 0600, O_APPEND) the console log at `path`. log->fd is -1 when it cannot.
void sysbox_console_log_open(sysbox_console_log *log, const char *path, long cap);

/// Appends bytes to the console log (see sysbox_console_log).
void sysbox_console_log_append(sysbox_console_log *log, const void *buf, size_t n);

/// The most console clients served at once (more are refused).
#define SYSBOX_CONSOLE_MAX_CLIENTS 64

/// The console relay of a monitor, the only one (used by the idle front and by the Swift monitor when
/// the front cannot be exec'd): until init (pid, pidfd) exits, copies the pty master to the log and to
/// every client (a client that does not take a whole chunk at once is dropped), client input to the
/// master, and accepts clients on `listener` (non-blocking, close-on-exec; at most
/// SYSBOX_CONSOLE_MAX_CLIENTS). clients[] holds *count fds on entry and on return (room for
/// SYSBOX_CONSOLE_MAX_CLIENTS). Drains what init wrote last. Returns init's wait status.
int sysbox_console_relay(pid_t pid, int pidfd, int master, int listener, sysbox_console_log *log, int *clients,
                         int *count);

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

#endif /* __ASSEMBLER__ */
#endif
