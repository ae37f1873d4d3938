#define _GNU_SOURCE
#include "CSysbox.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The fast path of a plain `sysbox exec NAME -- CMD...` (no options, no terminal on stdio): run by the
 * `sysbox` front (Sources/sysbox-front) before it would exec the Swift CLI, from
 * containers/NAME/exec.cache that sysbox writes at start and after every config change of the running
 * container. Anything unexpected (an option, a
 * terminal, no cache, init not the cached one) returns and the ordinary Swift path runs instead, so
 * this path never decides an error case on its own except the command's own exit. */

static int read_file(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t got = 0;
    while (got < size - 1) {
        ssize_t n = read(fd, buf + got, size - 1 - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = 0;
    return (int)got;
}

/* Start time (field 22) of pid, 0 when gone or a zombie. */
static unsigned long long start_time(long pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    if (read_file(path, buf, sizeof buf) <= 0) return 0;
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X') return 0;
    p += 2;
    for (int field = 3; field < 22 && p; field++) { p = strchr(p, ' '); if (p) p++; }
    return p ? strtoull(p, NULL, 10) : 0;
}

int sysbox_exec_cache_parse(char *text, sysbox_exec_cache *out) {
    memset(out, 0, sizeof *out);
    out->pid = -1;
    out->cwd = "/";
    size_t magic = strlen(SYSBOX_EXEC_CACHE_MAGIC);
    if (strncmp(text, SYSBOX_EXEC_CACHE_MAGIC, magic) != 0) return -EINVAL;
    char *save = NULL;
    for (char *line = strtok_r(text + magic, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "init ", 5) == 0) {
            char *end;
            out->pid = strtol(line + 5, &end, 10);
            out->start_time = strtoull(end, NULL, 10);
        } else if (strncmp(line, "cwd ", 4) == 0) {
            out->cwd = line + 4;
        } else if (strncmp(line, "drop ", 5) == 0) {
            out->drop = strtoull(line + 5, NULL, 10);
        } else if (strcmp(line, "userns 1") == 0) {
            out->userns = 1;
        } else if (strncmp(line, "env ", 4) == 0 && out->env_count < SYSBOX_EXEC_CACHE_MAX_ENV) {
            out->env[out->env_count++] = line + 4;
        } else if (strncmp(line, "rlimit ", 7) == 0 && out->rlimit_count < SYSBOX_EXEC_CACHE_MAX_RLIMITS) {
            char *start = line + 7, *end;
            sysbox_rlimit *r = &out->rlimits[out->rlimit_count++];
            long resource = strtol(start, &end, 10);
            if (end == start || resource < 0 || resource >= 16) return -EINVAL;
            r->resource = (int)resource;
            start = end;
            r->soft = strtoull(start, &end, 10);
            if (end == start) return -EINVAL;
            start = end;
            r->hard = strtoull(start, &end, 10);
            if (end == start || *end != '\0') return -EINVAL;
        } else if (strncmp(line, "cgroup ", 7) == 0 && out->cgroup_count < SYSBOX_EXEC_CACHE_MAX_CGROUPS) {
            char *space = strchr(line + 7, ' ');
            if (!space) return -EINVAL;
            *space = 0;
            out->cgroup_controllers[out->cgroup_count] = line + 7;
            out->cgroup_mounts[out->cgroup_count++] = space + 1;
        }
    }
    out->env[out->env_count] = NULL;
    return 0;
}

void sysbox_errno_text(int err, char *out, size_t size) {
    const char *name = strerrorname_np(err);
    char number[24];
    if (!name) {
        snprintf(number, sizeof number, "errno %d", err);
        name = number;
    }
    snprintf(out, size, "%s (%s)", name, strerror(err));
}

int sysbox_exec_failure(int step, int err, const char *command, const char *container, const char *cwd, int cwd_given,
                        char *message, size_t size) {
    char text[160];
    sysbox_errno_text(err, text, sizeof text);
    if (step == SYSBOX_STEP_EXEC && (err == ENOENT || err == ENOTDIR)) {
        snprintf(message, size, "command %s not found in container %s", command, container);
        return 127;
    }
    if (step == SYSBOX_STEP_EXEC) {
        snprintf(message, size, "command %s cannot be run in container %s: %s", command, container, text);
        return 126;
    }
    if (step == SYSBOX_STEP_CHDIR) {
        if (cwd_given) snprintf(message, size, "cannot use --cwd %s in container %s: %s", cwd, container, text);
        else snprintf(message, size, "cannot enter the working directory %s in container %s: %s", cwd, container, text);
        return 125;
    }
    if (step == SYSBOX_STEP_SETNS && err == ESRCH) {
        snprintf(message, size, "container %s stopped before the command could start", container);
        return 125;
    }
    const char *name = sysbox_step_name(step);
    if (name) snprintf(message, size, "exec in container %s: %s failed: %s", container, name, text);
    else snprintf(message, size, "exec in container %s: step %d failed: %s", container, step, text);
    return 125;
}

/* The command's name as messages show it: in double quotes, control bytes as \xNN. */
static void quote(const char *s, char *out, size_t size) {
    size_t o = 0;
    if (size < 8) { if (size) out[0] = 0; return; }
    out[o++] = '"';
    for (; *s && o + 6 < size; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f) o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
        else out[o++] = (char)c;
    }
    out[o++] = '"';
    out[o] = 0;
}

/* The cache of container `name` and its init when both are current: 1, else 0 (exec goes the Swift
 * way). */
static int load_cache(const char *dir, const char *name, char *text, size_t size, sysbox_exec_cache *cache) {
    char path[4096], pidfile[128];
    snprintf(path, sizeof path, "%s/containers/%s/exec.cache", dir, name);
    if (read_file(path, text, size) <= 0 || sysbox_exec_cache_parse(text, cache) < 0) return 0;
    snprintf(path, sizeof path, "%s/containers/%s/init.pid", dir, name);
    if (read_file(path, pidfile, sizeof pidfile) <= 0) return 0;
    long pid = strtol(pidfile, NULL, 10);
    unsigned long long start = strtoull(strchr(pidfile, ' ') ? strchr(pidfile, ' ') + 1 : "0", NULL, 10);
    return cache->pid == pid && pid > 0 && cache->start_time == start && start_time(pid) == start;
}

/* The cgroups init is in now, from /proc/PID/cgroup, matched to the cached hierarchies. v1: each
 * `tasks` file (a single-thread self-move waits for no RCU grace period); cgroup2: the directory,
 * which the helper is forked into (CLONE_INTO_CGROUP), opened into *cgroup_fd. The number of tasks
 * files, or -1. */
static int cgroup_targets(const sysbox_exec_cache *cache, char tasks_buf[][512], const char **tasks, int *cgroup_fd) {
    static char cgfile[8192];
    char cgpath[64];
    snprintf(cgpath, sizeof cgpath, "/proc/%ld/cgroup", cache->pid);
    if (read_file(cgpath, cgfile, sizeof cgfile) <= 0) return -1;
    int which[SYSBOX_EXEC_CACHE_MAX_CGROUPS];
    const char *rel[SYSBOX_EXEC_CACHE_MAX_CGROUPS];
    int found = sysbox_proc_cgroup_match(cgfile, cache->cgroup_controllers, cache->cgroup_count, which, rel, SYSBOX_EXEC_CACHE_MAX_CGROUPS);
    int ntasks = 0;
    *cgroup_fd = -1;
    for (int k = 0; k < found; k++) {
        int i = which[k];
        const char *path = strcmp(rel[k], "/") == 0 ? "" : rel[k];
        if (strcmp(cache->cgroup_controllers[i], "-") == 0) {
            char dir[4096];
            snprintf(dir, sizeof dir, "%s%s", cache->cgroup_mounts[i], path);
            if (*cgroup_fd >= 0) close(*cgroup_fd);
            *cgroup_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (*cgroup_fd < 0) return -1;
        } else {
            snprintf(tasks_buf[ntasks], 512, "%s%s/tasks", cache->cgroup_mounts[i], path);
            tasks[ntasks] = tasks_buf[ntasks];
            ntasks++;
        }
    }
    return ntasks;
}

/* Ends this process as the command did, or with the exec failure's code and message. */
static void __attribute__((noreturn)) finish(int helper, int err_fd, char **argv, const char *cwd) {
    sysbox_forward_signals(helper);
    int step = 0, err = 0;
    int reported = sysbox_read_report(err_fd, &step, &err);
    close(err_fd);
    int status = 0;
    while (waitpid(helper, &status, 0) < 0 && errno == EINTR) {}
    if (reported == 1) {
        char command[512], message[1024];
        quote(argv[4], command, sizeof command);
        int code = sysbox_exec_failure(step, err, command, argv[2], cwd, 0, message, sizeof message);
        dprintf(2, "Error: %s\n", message);
        _exit(code);
    }
    if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) _exit(128 + WTERMSIG(status));
    _exit(125);
}

void sysbox_fast_exec(int argc, char **argv, char **envp) {
    if (argc < 5 || strcmp(argv[1], "exec") != 0 || strcmp(argv[3], "--") != 0) return;
    if (!sysbox_valid_container_name(argv[2]) || isatty(0) || isatty(1) || isatty(2)) return;
    const char *dir = "/var/lib/sysbox";
    for (char **e = envp; *e; e++) {
        if (strncmp(*e, "SYSBOX_DIR=", 11) == 0) dir = *e + 11;
        if (strncmp(*e, "SYSBOX_NO_FAST_EXEC=", 20) == 0) return;
    }
    if (dir[0] != '/') return;
    static char text[65536];
    static sysbox_exec_cache cache;
    if (!load_cache(dir, argv[2], text, sizeof text, &cache)) return;
    static char tasks_buf[SYSBOX_EXEC_CACHE_MAX_CGROUPS][512];
    const char *tasks[SYSBOX_EXEC_CACHE_MAX_CGROUPS];
    int cgroup_fd = -1;
    int ntasks = cgroup_targets(&cache, tasks_buf, tasks, &cgroup_fd);
    if (ntasks < 0) return;

    /* The filter init got (seccomp.bpf next to the cache); without it the Swift path builds one. */
    static unsigned char filter[SYSBOX_SECCOMP_MAX_INSNS * 8];
    char filter_path[4096];
    snprintf(filter_path, sizeof filter_path, "%s/containers/%s/seccomp.bpf", dir, argv[2]);
    int filter_length = sysbox_seccomp_read(filter_path, filter, sizeof filter);
    if (filter_length <= 0) { if (cgroup_fd >= 0) close(cgroup_fd); return; }

    int pidfd = sysbox_pidfd_open((pid_t)cache.pid);
    if (pidfd < 0) { if (cgroup_fd >= 0) close(cgroup_fd); return; }
    if (start_time(cache.pid) != cache.start_time) { close(pidfd); if (cgroup_fd >= 0) close(cgroup_fd); return; }
    sysbox_exec_config config;
    memset(&config, 0, sizeof config);
    config.pidfd = pidfd;
    config.cgroup_tasks = tasks;
    config.cgroup_task_count = ntasks;
    config.cgroup_fd = cgroup_fd;
    config.cwd = cache.cwd;
    config.argv = argv + 4;
    config.envp = cache.env;
    config.uid = 0;
    config.gid = 0;
    config.stdio[0] = 0;
    config.stdio[1] = 1;
    config.stdio[2] = 2;
    config.pty_socket = -1;
    config.drop_caps = cache.drop;
    config.userns = cache.userns;
    config.seccomp_filter = filter;
    config.seccomp_length = (unsigned int)filter_length;
    config.rlimits = cache.rlimits;
    config.rlimit_count = cache.rlimit_count;
    int err_fd = -1;
    int helper = sysbox_exec(&config, &err_fd);
    close(pidfd);
    if (cgroup_fd >= 0) close(cgroup_fd);
    if (helper < 0) return;  /* nothing ran: the Swift path tries again and reports */
    finish(helper, err_fd, argv, cache.cwd);
}
