#define _GNU_SOURCE
#include "CSysbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int sysbox_cgroup_device_program(const char *cgroup_dir, const unsigned char *insns, unsigned int length) {
    if (length == 0 || length % 8 != 0) return -EINVAL;
    int dir = open(cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return -errno;
    static const char license[] = "GPL";
    union bpf_attr load;
    memset(&load, 0, sizeof load);
    load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    load.insn_cnt = length / 8;
    load.insns = (uint64_t)(uintptr_t)insns;
    load.license = (uint64_t)(uintptr_t)license;
    int prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof load);
    if (prog < 0) { int e = errno; close(dir); return -e; }
    union bpf_attr attach;
    memset(&attach, 0, sizeof attach);
    attach.target_fd = (uint32_t)dir;
    attach.attach_bpf_fd = (uint32_t)prog;
    attach.attach_type = BPF_CGROUP_DEVICE;
    attach.attach_flags = BPF_F_ALLOW_MULTI;
    long rc = syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof attach);
    int e = errno;
    close(prog);
    close(dir);
    return rc < 0 ? -e : 0;
}
