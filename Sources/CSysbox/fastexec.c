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

#define MAX_ENV 256
#define MAX_CG 32

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

static int valid_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-') return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) return 0;
    }
    return 1;
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

void sysbox_fast_exec(int argc, char **argv, char **envp) {
    if (argc < 5 || strcmp(argv[1], "exec") != 0 || strcmp(argv[3], "--") != 0) return;
    if (!valid_name(argv[2]) || isatty(0) || isatty(1) || isatty(2)) return;
    const char *dir = "/var/lib/sysbox";
    for (char **e = envp; *e; e++) {
        if (strncmp(*e, "SYSBOX_DIR=", 11) == 0) dir = *e + 11;
        if (strncmp(*e, "SYSBOX_NO_FAST_EXEC=", 20) == 0) return;
    }
    if (dir[0] != '/') return;
    static char path[4096], cache[65536], pidfile[128], cgfile[8192];
    snprintf(path, sizeof path, "%s/containers/%s/exec.cache", dir, argv[2]);
    if (read_file(path, cache, sizeof cache) <= 0 || strncmp(cache, "sysbox-exec-cache 1\n", 20) != 0) return;
    snprintf(path, sizeof path, "%s/containers/%s/init.pid", dir, argv[2]);
    if (read_file(path, pidfile, sizeof pidfile) <= 0) return;
    long pid = strtol(pidfile, NULL, 10);
    unsigned long long start = strtoull(strchr(pidfile, ' ') ? strchr(pidfile, ' ') + 1 : "0", NULL, 10);

    char *env[MAX_ENV + 1];
    int nenv = 0;
    const char *cwd = "/";
    unsigned long long drop = 0;
    long cache_pid = -1;
    unsigned long long cache_start = 0;
    char *cg_ctrl[MAX_CG], *cg_mount[MAX_CG];
    int ncg = 0;
    for (char *line = strtok(cache, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "init ", 5) == 0) {
            char *end;
            cache_pid = strtol(line + 5, &end, 10);
            cache_start = strtoull(end, NULL, 10);
        } else if (strncmp(line, "cwd ", 4) == 0) {
            cwd = line + 4;
        } else if (strncmp(line, "drop ", 5) == 0) {
            drop = strtoull(line + 5, NULL, 10);
        } else if (strncmp(line, "env ", 4) == 0 && nenv < MAX_ENV) {
            env[nenv++] = line + 4;
        } else if (strncmp(line, "cgroup ", 7) == 0 && ncg < MAX_CG) {
            char *space = strchr(line + 7, ' ');
            if (!space) return;
            *space = 0;
            cg_ctrl[ncg] = line + 7;
            cg_mount[ncg++] = space + 1;
        }
    }
    env[nenv] = NULL;
    if (cache_pid != pid || pid <= 0 || cache_start != start || start_time(pid) != start) return;

    /* The cgroups init is in now, from /proc/PID/cgroup, matched to the cached hierarchies. */
    char cgpath[64];
    snprintf(cgpath, sizeof cgpath, "/proc/%ld/cgroup", pid);
    if (read_file(cgpath, cgfile, sizeof cgfile) <= 0) return;
    /* v1: each `tasks` file (a single-thread self-move waits for no RCU grace period); cgroup2: the
     * directory, which the helper is forked into (CLONE_INTO_CGROUP). */
    static char tasks_buf[MAX_CG][512];
    const char *tasks[MAX_CG];
    int ntasks = 0;
    int cgroup_fd = -1;
    for (char *line = strtok(cgfile, "\n"); line && ntasks < MAX_CG; line = strtok(NULL, "\n")) {
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2 || c2[1] != '/' || strstr(c2, "..")) continue;
        *c2 = 0;
        const char *controllers = c1 + 1, *rel = c2 + 1;
        for (int i = 0; i < ncg; i++) {
            int v2 = strcmp(cg_ctrl[i], "-") == 0;
            if (v2 && controllers[0] == 0) {
                char dir[4096];
                snprintf(dir, sizeof dir, "%s%s", cg_mount[i], strcmp(rel, "/") == 0 ? "" : rel);
                if (cgroup_fd >= 0) close(cgroup_fd);
                cgroup_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (cgroup_fd < 0) return;
                break;
            }
            if (!v2 && strcmp(cg_ctrl[i], controllers) == 0) {
                snprintf(tasks_buf[ntasks], sizeof tasks_buf[ntasks], "%s%s/tasks", cg_mount[i], strcmp(rel, "/") == 0 ? "" : rel);
                tasks[ntasks] = tasks_buf[ntasks];
                ntasks++;
                break;
            }
        }
    }

    int pidfd = sysbox_pidfd_open((pid_t)pid);
    if (pidfd < 0) { if (cgroup_fd >= 0) close(cgroup_fd); return; }
    if (start_time(pid) != start) { close(pidfd); if (cgroup_fd >= 0) close(cgroup_fd); return; }
    sysbox_exec_config config;
    memset(&config, 0, sizeof config);
    config.pidfd = pidfd;
    config.cgroup_tasks = tasks;
    config.cgroup_task_count = ntasks;
    config.cgroup_fd = cgroup_fd;
    config.cwd = cwd;
    config.argv = argv + 4;
    config.envp = env;
    config.uid = 0;
    config.gid = 0;
    config.stdio[0] = 0;
    config.stdio[1] = 1;
    config.stdio[2] = 2;
    config.pty_socket = -1;
    config.drop_caps = drop;
    int err_fd = -1;
    int helper = sysbox_exec(&config, &err_fd);
    close(pidfd);
    if (cgroup_fd >= 0) close(cgroup_fd);
    if (helper < 0) return;  /* nothing ran: the Swift path tries again and reports */
    sysbox_forward_signals(helper);
    int step = 0, err = 0;
    int reported = sysbox_read_report(err_fd, &step, &err);
    close(err_fd);
    int status = 0;
    while (waitpid(helper, &status, 0) < 0 && errno == EINTR) {}
    if (reported == 1) {
        /* The same messages and codes as the Swift path (Exec.swift). */
        if (step == SYSBOX_STEP_EXEC && (err == ENOENT || err == ENOTDIR)) {
            dprintf(2, "Error: command \"%s\" not found in container %s\n", argv[4], argv[2]);
            _exit(127);
        }
        if (step == SYSBOX_STEP_EXEC) {
            dprintf(2, "Error: command \"%s\" cannot be run in container %s: %s\n", argv[4], argv[2], strerror(err));
            _exit(126);
        }
        if (step == SYSBOX_STEP_SETNS && err == ESRCH) {
            dprintf(2, "Error: container %s stopped before the command could start\n", argv[2]);
            _exit(125);
        }
        dprintf(2, "Error: exec in container %s failed at step %d: %s\n", argv[2], step, strerror(err));
        _exit(125);
    }
    if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) _exit(128 + WTERMSIG(status));
    _exit(125);
}
