#define _GNU_SOURCE
#include "CSysbox.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The container's seccomp filter (see CSysbox.h, "seccomp.bpf"): built with libseccomp in the parent,
 * exported as BPF, and loaded by the children with one seccomp(2) call each (spawn.c). */

static scmp_filter_ctx new_context(uint32_t arch, int default_err) {
    scmp_filter_ctx ctx = seccomp_init(default_err ? SCMP_ACT_ERRNO((uint32_t)default_err) : SCMP_ACT_ALLOW);
    if (!ctx) return NULL;
    /* No no_new_privs: setuid binaries in the container must keep working (the loader has
     * CAP_SYS_ADMIN). Another architecture, and x32 on x86_64, get ENOSYS: never a kill. */
    if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0 ||
        seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(ENOSYS)) < 0) {
        seccomp_release(ctx);
        return NULL;
    }
    if (arch != SCMP_ARCH_NATIVE && (seccomp_arch_add(ctx, arch) < 0 || seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE) < 0)) {
        seccomp_release(ctx);
        return NULL;
    }
    return ctx;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t arch, const sysbox_seccomp_rule *r) {
    int native = seccomp_syscall_resolve_name(r->name);
    int nr = seccomp_syscall_resolve_name_arch(arch, r->name);
    if (native == __NR_SCMP_ERROR && nr == __NR_SCMP_ERROR) return -ENOENT;
    /* Not on this architecture (libseccomp's negative pseudo numbers): nothing to deny. A rule with
     * conditions on a syscall that this architecture multiplexes (i386 socket through socketcall, whose
     * arguments are in memory) cannot be checked there, so it is skipped too rather than compare the
     * wrong registers. */
    if (nr < 0 && (r->cond_count > 0 || nr == __NR_SCMP_ERROR)) return 0;
    if (r->cond_count > 6) return -EINVAL;
    struct scmp_arg_cmp cmp[6];
    for (int i = 0; i < r->cond_count; i++) {
        const sysbox_seccomp_cond *c = &r->conds[i];
        cmp[i] = c->masked ? SCMP_CMP64(c->arg, SCMP_CMP_MASKED_EQ, c->mask, c->value) : SCMP_CMP64(c->arg, SCMP_CMP_EQ, c->value);
    }
    /* The native number: libseccomp translates it to `arch` by name. */
    return seccomp_rule_add_array(ctx, r->err ? SCMP_ACT_ERRNO((uint32_t)r->err) : SCMP_ACT_ALLOW, native != __NR_SCMP_ERROR ? native : nr, (unsigned)r->cond_count, cmp);
}

int sysbox_seccomp_build(const sysbox_seccomp_rule *rules, int count, int default_err, int flags, unsigned char *out, size_t size) {
    scmp_filter_ctx main = new_context(SCMP_ARCH_NATIVE, default_err);
    if (!main) return -ENOMEM;
    int rc = 0;
#if defined(__x86_64__)
    /* One context per architecture, merged: each rule says where it applies. Without the i386 one,
     * every i386 syscall gets the bad-architecture action (ENOSYS). */
    scmp_filter_ctx compat = NULL;
    if (!(flags & SYSBOX_SECCOMP_DENY_I386)) {
        compat = new_context(SCMP_ARCH_X86, default_err);
        if (!compat) { seccomp_release(main); return -ENOMEM; }
    }
    for (int i = 0; i < count && rc == 0; i++) {
        if (rules[i].arches & SYSBOX_SECCOMP_X86_64) rc = add_rule(main, SCMP_ARCH_X86_64, &rules[i]);
        if (rc == 0 && compat && (rules[i].arches & SYSBOX_SECCOMP_I386)) rc = add_rule(compat, SCMP_ARCH_X86, &rules[i]);
    }
    if (compat) {
        if (rc == 0) rc = seccomp_merge(main, compat);  /* releases compat when it succeeds */
        if (rc < 0) seccomp_release(compat);
    }
#else
    (void)flags;
    for (int i = 0; i < count && rc == 0; i++) rc = add_rule(main, SCMP_ARCH_NATIVE, &rules[i]);
#endif
    if (rc < 0) { seccomp_release(main); return rc; }
    int fd = memfd_create("sysbox-seccomp", MFD_CLOEXEC);
    if (fd < 0) { int e = errno; seccomp_release(main); return -e; }
    rc = seccomp_export_bpf(main, fd);
    seccomp_release(main);
    if (rc < 0) { close(fd); return rc; }
    struct stat st;
    if (fstat(fd, &st) < 0) { int e = errno; close(fd); return -e; }
    if ((size_t)st.st_size > size) { close(fd); return -E2BIG; }
    size_t done = 0;
    while (done < (size_t)st.st_size) {
        ssize_t n = pread(fd, out + done, (size_t)st.st_size - done, (off_t)done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { int e = n < 0 ? errno : EIO; close(fd); return -e; }
        done += (size_t)n;
    }
    close(fd);
    return (int)done;
}

static uint32_t scmp_arch(int arch) { return arch == SYSBOX_SECCOMP_I386 ? SCMP_ARCH_X86 : SCMP_ARCH_X86_64; }

int sysbox_seccomp_syscall(const char *name, int arch) {
    int nr = seccomp_syscall_resolve_name_arch(scmp_arch(arch), name);
    if (nr >= 0) return nr;
    if (seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name) == __NR_SCMP_ERROR &&
        seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86, name) == __NR_SCMP_ERROR)
        return -ENOENT;
    return -ENOSYS;
}

int sysbox_seccomp_syscall_name(int number, int arch, char *out, size_t size) {
    char *s = seccomp_syscall_resolve_num_arch(scmp_arch(arch), number);
    if (!s) return 0;
    size_t n = strlen(s);
    int fits = n < size;
    if (fits) memcpy(out, s, n + 1);
    free(s);
    return fits;
}

int sysbox_seccomp_read(const char *path, unsigned char *out, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return -errno;
    size_t done = 0;
    while (1) {
        char extra;
        ssize_t n = done < size ? read(fd, out + done, size - done) : read(fd, &extra, 1);
        if (n > 0 && done == size) { close(fd); return -EINVAL; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { int e = errno; close(fd); return -e; }
        if (n == 0) break;
        done += (size_t)n;
    }
    close(fd);
    if (done == 0 || done % 8 != 0 || done / 8 > SYSBOX_SECCOMP_MAX_INSNS) return -EINVAL;
    return (int)done;
}
