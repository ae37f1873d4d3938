/* `sysbox`, the command users run: a small static C program. A plain `sysbox exec NAME -- CMD...`
 * (no options, no terminal) runs here directly (fastexec.c), because loading the Swift CLI alone
 * costs ~2.5 ms, more than `nsenter` needs for the whole exec. Everything else, and every case the
 * fast path does not decide itself, execs `sysbox-manager` (the Swift CLI, Sources/sysbox) with the
 * same arguments: next to this binary in a build directory, or PREFIX/libexec/sysbox/ when installed. */
#define _GNU_SOURCE
#include "CSysbox.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int try_exec(const char *dir, const char *rel, char **argv, char **envp, char *tried, size_t size) {
    if ((size_t)snprintf(tried, size, "%s/%s", dir, rel) >= size) return ENAMETOOLONG;
    execve(tried, argv, envp);
    return errno;
}

int main(int argc, char **argv, char **envp) {
    /* A container's idle monitor (its arguments: CSysbox.h, "The idle monitor"). */
    if (argc > 1 && strcmp(argv[1], "__monitor-idle") == 0) return sysbox_monitor_idle(argc, argv, envp);
    /* A proxy device's forwarder (proxy.c), started by a container's monitor. */
    if (argc > 1 && strcmp(argv[1], "__proxy") == 0) return sysbox_proxy_run(argc, argv);
    sysbox_fast_exec(argc, argv, envp);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "Error: cannot find sysbox's own path (/proc/self/exe): %s; is /proc mounted?\n", strerror(errno));
        return 1;
    }
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (!slash) return 1;
    *slash = 0;
    char tried[PATH_MAX];
    int err = try_exec(self, "sysbox-manager", argv, envp, tried, sizeof tried);
    if (err == ENOENT) {
        err = try_exec(self, "../libexec/sysbox/sysbox-manager", argv, envp, tried, sizeof tried);
        if (err == ENOENT) {
            /* The parent directory by name, as the user would write it. */
            char *up = strrchr(self, '/');
            if (up) *up = 0;
            fprintf(stderr, "Error: sysbox-manager not found in %s/%s nor in %s/libexec/sysbox; reinstall sysbox (scripts/install)\n",
                    self, up ? up + 1 : "", self);
            return 1;
        }
    }
    fprintf(stderr, "Error: cannot run %s: %s; reinstall sysbox (scripts/install)\n", tried, strerror(err));
    return 1;
}
