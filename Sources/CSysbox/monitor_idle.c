#define _GNU_SOURCE
#include "CSysbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The idle phase of a container's monitor, in the small `sysbox` front instead of the Swift CLI: the
 * Swift monitor sets the container up, then execs this (same process: init stays its child, the fds
 * and the monitor's flock stay), which serves the console until init exits and then execs the Swift
 * monitor back (`sysbox-manager __monitor-resume`) to record the stop, restart after a reboot, or
 * clean up. The arguments of both are described in CSysbox.h. The console relay below is also the
 * Swift monitor's (Monitor.serveConsole), when it cannot exec the front. */

static int parse_fd(const char *s) {
    char *end;
    long v = strtol(s, &end, 10);
    return (*s && !*end && v >= 0 && v < 1 << 20) ? (int)v : -1;
}

void sysbox_console_log_open(sysbox_console_log *l, const char *path, long cap) {
    l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    l->size = 0;
    l->cap = cap;
    struct stat st;
    if (l->fd >= 0 && fstat(l->fd, &st) == 0) l->size = st.st_size;
}

void sysbox_console_log_append(sysbox_console_log *l, const void *buf, size_t n) {
    if (l->fd < 0) return;
    if (l->size + (long)n > l->cap) {
        long keep = l->cap / 2;
        if (keep > l->size) keep = l->size;
        char *tmp = malloc((size_t)keep + 1);
        if (tmp) {
            ssize_t got = pread(l->fd, tmp, (size_t)keep, l->size - keep);
            if (got >= 0 && ftruncate(l->fd, 0) == 0) {
                ssize_t w = write(l->fd, tmp, (size_t)got);
                l->size = w > 0 ? w : 0;
            }
            free(tmp);
        }
    }
    ssize_t w = write(l->fd, buf, n);
    if (w > 0) l->size += w;
}

static void drop(int *clients, int *count, int i) {
    close(clients[i]);
    clients[i] = clients[--*count];
}

int sysbox_console_relay(pid_t pid, int pidfd, int master, int listener, sysbox_console_log *log, int *clients,
                         int *count) {
    static char buf[16384];
    int status = 0;
    for (;;) {
        struct pollfd fds[3 + SYSBOX_CONSOLE_MAX_CLIENTS];
        fds[0] = (struct pollfd){ pidfd, POLLIN, 0 };
        fds[1] = (struct pollfd){ master, POLLIN, 0 };
        fds[2] = (struct pollfd){ listener, POLLIN, 0 };
        for (int i = 0; i < *count; i++) fds[3 + i] = (struct pollfd){ clients[i], POLLIN, 0 };
        int polled = *count;
        int n = poll(fds, (nfds_t)(3 + polled), -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == ENOMEM || errno == EAGAIN) { usleep(10000); continue; }
            /* Cannot serve the console any more: still report init's real end, never a guess. */
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
            return status;
        }
        if (fds[1].revents & POLLIN) {
            ssize_t got = read(master, buf, sizeof buf);
            if (got > 0) {
                sysbox_console_log_append(log, buf, (size_t)got);
                for (int i = 0; i < *count;) {
                    ssize_t sent = send(clients[i], buf, (size_t)got, MSG_NOSIGNAL | MSG_DONTWAIT);
                    if (sent == got) i++;
                    else drop(clients, count, i);
                }
            }
        }
        int accepted = -1;
        if (fds[2].revents & POLLIN) {
            /* Non-blocking: a client that stops reading is dropped, never waited for. */
            int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd >= 0 && *count < SYSBOX_CONSOLE_MAX_CLIENTS) clients[(*count)++] = accepted = fd;
            else if (fd >= 0) close(fd);
        }
        /* Clients polled this round, by fd (the list may have changed above; a new client may have
         * the number of one dropped this round, and was not polled). */
        for (int k = 0; k < polled; k++) {
            if (!fds[3 + k].revents || fds[3 + k].fd == accepted) continue;
            for (int i = 0; i < *count; i++) {
                if (clients[i] != fds[3 + k].fd) continue;
                ssize_t got = read(clients[i], buf, sizeof buf);
                if (got > 0) {
                    ssize_t w = write(master, buf, (size_t)got);
                    (void)w;
                } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
                    drop(clients, count, i);
                }
                break;
            }
        }
        if (fds[0].revents) {
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
            /* What init wrote last. */
            for (;;) {
                struct pollfd p = { master, POLLIN, 0 };
                if (poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) break;
                ssize_t got = read(master, buf, sizeof buf);
                if (got <= 0) break;
                sysbox_console_log_append(log, buf, (size_t)got);
            }
            return status;
        }
    }
}

int sysbox_monitor_idle(int argc, char **argv, char **envp) {
    if (argc < 13) {
        fprintf(stderr, "Error: __monitor-idle is internal to sysbox (started by a container's monitor)\n");
        return 2;
    }
    const char *manager = argv[2], *name = argv[3];
    pid_t pid = (pid_t)strtol(argv[4], NULL, 10);
    int pidfd = parse_fd(argv[5]), master = parse_fd(argv[6]), slave = parse_fd(argv[7]);
    int listener = parse_fd(argv[8]), lock = parse_fd(argv[9]);
    long cap = strtol(argv[11], NULL, 10);
    if (pid <= 0 || pidfd < 0 || master < 0 || slave < 0 || listener < 0 || lock < 0 || cap <= 0) return 2;
    int manager_fd = parse_fd(argv[12]);
    if (manager_fd >= 0) fcntl(manager_fd, F_SETFD, FD_CLOEXEC);
    int clients[SYSBOX_CONSOLE_MAX_CLIENTS], nclients = 0;
    for (int i = 13; i < argc && nclients < SYSBOX_CONSOLE_MAX_CLIENTS; i++) {
        int fd = parse_fd(argv[i]);
        if (fd >= 0) clients[nclients++] = fd;
    }
    signal(SIGPIPE, SIG_IGN);
    sysbox_console_log log;
    sysbox_console_log_open(&log, argv[10], cap);
    int status = sysbox_console_relay(pid, pidfd, master, listener, &log, clients, &nclients);
    close(pidfd);
    if (log.fd >= 0) close(log.fd);

    /* Back to the Swift monitor with init's wait status and the fds it keeps. */
    char sbuf[16], fdbuf[5 + SYSBOX_CONSOLE_MAX_CLIENTS][16];
    char *args[9 + SYSBOX_CONSOLE_MAX_CLIENTS];
    int a = 0;
    args[a++] = (char *)"sysbox-manager";
    args[a++] = (char *)"__monitor-resume";
    args[a++] = (char *)name;
    snprintf(sbuf, sizeof sbuf, "%d", status);
    args[a++] = sbuf;
    int keep[4 + SYSBOX_CONSOLE_MAX_CLIENTS] = { master, slave, listener, lock };
    int nkeep = 4;
    for (int i = 0; i < nclients; i++) keep[nkeep++] = clients[i];
    for (int i = 0; i < nkeep; i++) {
        snprintf(fdbuf[i], sizeof fdbuf[i], "%d", keep[i]);
        args[a++] = fdbuf[i];
        fcntl(keep[i], F_SETFD, 0);
    }
    args[a] = NULL;
    /* The binary that started the container (an upgrade renames a new one into place: its resume may
     * differ), else whatever is at its path now. */
    if (manager_fd >= 0) syscall(SYS_execveat, manager_fd, "", args, envp, AT_EMPTY_PATH);
    execve(manager, args, envp);
    fprintf(stderr, "sysbox monitor of %s: cannot exec %s: %s\n", name, manager, strerror(errno));
    return 1;
}
