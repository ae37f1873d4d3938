#define _GNU_SOURCE
#include "CSysbox.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The forwarder of one `proxy` device with nat=false (`sysbox __proxy`, started by the container's
 * monitor, which bound the listening socket): a single-threaded poll loop. Each connection (TCP) or
 * each client address (UDP) gets a socket created in the container's network namespace: the
 * forwarder setns()es into /proc/INIT/ns/net (INIT read from the container's init.pid at that moment,
 * so a reboot's new init is followed), calls socket() (a socket belongs to the namespace it was made
 * in) and setns()es back. TCP bytes move with splice() through a pipe per direction (no copy through
 * user space); UDP datagrams through a buffer. It dies with the monitor (PR_SET_PDEATHSIG). */

#define PROXY_MAX_CONNS 512
#define PROXY_MAX_UDP 256
#define PROXY_PIPE_SIZE (1 << 20)
#define PROXY_UDP_IDLE 60

static struct sockaddr_in target;
static const char *init_pid_file;
static int host_ns = -1;

int sysbox_proxy_listen(int udp, const char *address, int port) {
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (inet_pton(AF_INET, address, &a.sin_addr) != 1) return -EINVAL;
    int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -errno;
    int one = 1;
    if (!udp) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || (!udp && listen(fd, 128) != 0)) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/* A socket of `type` in the container's network namespace; -1 when the container has no init. */
static int inner_socket(int type) {
    FILE *f = fopen(init_pid_file, "re");
    if (!f) return -1;
    int pid = 0;
    int ok = fscanf(f, "%d", &pid) == 1 && pid > 0;
    fclose(f);
    if (!ok) return -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/net", pid);
    int ns = open(path, O_RDONLY | O_CLOEXEC);
    if (ns < 0) return -1;
    int fd = -1;
    if (setns(ns, CLONE_NEWNET) == 0) {
        fd = socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        /* Never go on in the container's namespace: the next listener or socket would be its. */
        if (setns(host_ns, CLONE_NEWNET) != 0) _exit(3);
    }
    close(ns);
    return fd;
}

struct conn {
    int fd[2];         /* 0: the client (host side), 1: the container side */
    int pipe[2][2];    /* pipe[d]: bytes read from fd[d], to be written to fd[1 - d] */
    size_t queued[2];  /* bytes in pipe[d] */
    int eof[2];        /* fd[d] reached end of file */
    int shut[2];       /* fd[d] was shut down for writing */
    int connecting;
};

static void conn_close(struct conn *c) {
    for (int d = 0; d < 2; d++) {
        if (c->fd[d] >= 0) close(c->fd[d]);
        for (int k = 0; k < 2; k++)
            if (c->pipe[d][k] >= 0) close(c->pipe[d][k]);
    }
    memset(c, 0, sizeof *c);
    c->fd[0] = c->fd[1] = -1;
    c->pipe[0][0] = c->pipe[0][1] = c->pipe[1][0] = c->pipe[1][1] = -1;
}

/* Moves what it can in direction d; -1 when the connection is broken. */
static int conn_pump(struct conn *c, int d) {
    int from = c->fd[d], to = c->fd[1 - d];
    for (;;) {
        int moved = 0;
        if (!c->eof[d] && c->queued[d] < PROXY_PIPE_SIZE) {
            ssize_t n = splice(from, NULL, c->pipe[d][1], NULL, PROXY_PIPE_SIZE - c->queued[d],
                               SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (n > 0) { c->queued[d] += (size_t)n; moved = 1; }
            else if (n == 0) c->eof[d] = 1;
            else if (errno != EAGAIN && errno != EINTR) return -1;
        }
        if (c->queued[d] > 0) {
            ssize_t n = splice(c->pipe[d][0], NULL, to, NULL, c->queued[d], SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (n > 0) { c->queued[d] -= (size_t)n; moved = 1; }
            else if (n < 0 && errno != EAGAIN && errno != EINTR) return -1;
        }
        if (c->eof[d] && c->queued[d] == 0 && !c->shut[d]) {
            shutdown(to, SHUT_WR);
            c->shut[d] = 1;
        }
        if (!moved) return 0;
    }
}

static int run_tcp(int listener) {
    static struct conn conns[PROXY_MAX_CONNS];
    static struct pollfd pfds[1 + 2 * PROXY_MAX_CONNS];
    int n = 0;
    for (;;) {
        pfds[0] = (struct pollfd){ listener, POLLIN, 0 };
        for (int i = 0; i < n; i++) {
            struct conn *c = &conns[i];
            for (int d = 0; d < 2; d++) {
                short ev = 0;
                if (c->connecting) ev = d == 1 ? POLLOUT : 0;
                else {
                    if (!c->eof[d] && c->queued[d] < PROXY_PIPE_SIZE) ev |= POLLIN;
                    if (c->queued[1 - d] > 0) ev |= POLLOUT;
                }
                pfds[1 + 2 * i + d] = (struct pollfd){ c->fd[d], ev, 0 };
            }
        }
        if (poll(pfds, (nfds_t)(1 + 2 * n), -1) < 0) {
            if (errno == EINTR || errno == ENOMEM || errno == EAGAIN) continue;
            return 1;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = &conns[i];
            short r0 = pfds[1 + 2 * i].revents, r1 = pfds[2 + 2 * i].revents;
            if (!r0 && !r1) continue;
            int broken = 0;
            if (c->connecting) {
                /* The container side's connect(): done when it polls writable (SO_ERROR says how). */
                int err = 0;
                socklen_t len = sizeof err;
                if (r1 && (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)) broken = 1;
                else if (r1) c->connecting = 0;
                else if (r0 & (POLLERR | POLLHUP)) broken = 1;
            }
            if (!broken && !c->connecting) broken = conn_pump(c, 0) < 0 || conn_pump(c, 1) < 0;
            if (!broken && c->shut[0] && c->shut[1]) broken = 1; /* both directions done */
            if (!broken && !c->connecting && ((r0 & (POLLERR | POLLHUP)) && (r1 & (POLLERR | POLLHUP)))) broken = 1;
            if (broken) {
                conn_close(c);
                conns[i] = conns[--n];
                /* The moved one was polled at slot n: its results now belong to slot i. */
                pfds[1 + 2 * i] = pfds[1 + 2 * n];
                pfds[2 + 2 * i] = pfds[2 + 2 * n];
                i--;
            }
        }
        if (pfds[0].revents & POLLIN) {
            for (;;) {
                int client = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (client < 0) break;
                int inner = n < PROXY_MAX_CONNS ? inner_socket(SOCK_STREAM) : -1;
                if (inner < 0) { close(client); continue; }
                struct conn *c = &conns[n];
                memset(c, 0, sizeof *c);
                c->fd[0] = client;
                c->fd[1] = inner;
                c->pipe[0][0] = c->pipe[0][1] = c->pipe[1][0] = c->pipe[1][1] = -1;
                int one = 1;
                setsockopt(client, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof one);
                setsockopt(inner, IPPROTO_TCP, 1, &one, sizeof one);
                if (pipe2(c->pipe[0], O_NONBLOCK | O_CLOEXEC) != 0 || pipe2(c->pipe[1], O_NONBLOCK | O_CLOEXEC) != 0) {
                    conn_close(c);
                    continue;
                }
                fcntl(c->pipe[0][1], F_SETPIPE_SZ, PROXY_PIPE_SIZE);
                fcntl(c->pipe[1][1], F_SETPIPE_SZ, PROXY_PIPE_SIZE);
                if (connect(inner, (struct sockaddr *)&target, sizeof target) == 0) c->connecting = 0;
                else if (errno == EINPROGRESS) c->connecting = 1;
                else { conn_close(c); continue; }
                n++;
            }
        }
    }
}

struct udp_session {
    struct sockaddr_storage peer;
    socklen_t len;
    int fd;
    time_t last;
};

static int run_udp(int listener) {
    static struct udp_session s[PROXY_MAX_UDP];
    static struct pollfd pfds[1 + PROXY_MAX_UDP];
    static char buf[65536];
    int n = 0;
    for (;;) {
        pfds[0] = (struct pollfd){ listener, POLLIN, 0 };
        for (int i = 0; i < n; i++) pfds[1 + i] = (struct pollfd){ s[i].fd, POLLIN, 0 };
        int r = poll(pfds, (nfds_t)(1 + n), 5000);
        if (r < 0 && errno != EINTR && errno != ENOMEM && errno != EAGAIN) return 1;
        time_t now = time(NULL);
        for (int i = 0; r > 0 && i < n; i++) {
            if (!pfds[1 + i].revents) continue;
            for (;;) {
                ssize_t got = recv(s[i].fd, buf, sizeof buf, 0);
                if (got < 0) break;
                sendto(listener, buf, (size_t)got, 0, (struct sockaddr *)&s[i].peer, s[i].len);
                s[i].last = now;
            }
        }
        if (r > 0 && (pfds[0].revents & POLLIN)) {
            for (;;) {
                struct sockaddr_storage peer;
                socklen_t len = sizeof peer;
                ssize_t got = recvfrom(listener, buf, sizeof buf, 0, (struct sockaddr *)&peer, &len);
                if (got < 0) break;
                int k = 0;
                while (k < n && !(s[k].len == len && memcmp(&s[k].peer, &peer, len) == 0)) k++;
                if (k == n) {
                    if (n == PROXY_MAX_UDP) continue;
                    int fd = inner_socket(SOCK_DGRAM);
                    if (fd < 0) continue;
                    if (connect(fd, (struct sockaddr *)&target, sizeof target) != 0) { close(fd); continue; }
                    s[n] = (struct udp_session){ .peer = peer, .len = len, .fd = fd };
                    n++;
                }
                send(s[k].fd, buf, (size_t)got, 0);
                s[k].last = now;
            }
        }
        for (int i = 0; i < n; i++) {
            if (now - s[i].last <= PROXY_UDP_IDLE) continue;
            close(s[i].fd);
            s[i--] = s[--n];
        }
    }
}

int sysbox_proxy_run(int argc, char **argv) {
    if (argc != 9) {
        fprintf(stderr, "Error: __proxy is internal to sysbox (started by a container's monitor)\n");
        return 2;
    }
    /* argv: sysbox __proxy DEVICE PARENT LISTENFD tcp|udp CONNECT-ADDR CONNECT-PORT INIT-PID-FILE */
    pid_t parent = (pid_t)strtol(argv[3], NULL, 10);
    int listener = (int)strtol(argv[4], NULL, 10);
    int udp = strcmp(argv[5], "udp") == 0;
    long port = strtol(argv[7], NULL, 10);
    init_pid_file = argv[8];
    target = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (parent <= 0 || listener < 3 || port <= 0 || port > 65535 || inet_pton(AF_INET, argv[6], &target.sin_addr) != 1) return 2;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) return 0;
    char title[16];
    snprintf(title, sizeof title, "proxy-%s", argv[2]);
    prctl(PR_SET_NAME, title);
    signal(SIGPIPE, SIG_IGN);
    /* Nothing of the monitor's but the listener (its status pipe to `start`, say, must not be held). */
    for (int fd = 3; fd < 1024; fd++)
        if (fd != listener) close(fd);
    fcntl(listener, F_SETFD, FD_CLOEXEC);
    host_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (host_ns < 0) return 1;
    return udp ? run_udp(listener) : run_tcp(listener);
}
