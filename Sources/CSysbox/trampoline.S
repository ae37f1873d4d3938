/* The exec trampoline: a complete static ELF executable of a few hundred bytes, laid out here as data
 * (ELF header, program headers, position-independent code) so that no build step has to link a second
 * program. spawn.c copies it into a sealed memfd and execs that as the last step before a container
 * process runs (init and every `sysbox exec`), so the host's `sysbox` binary is never the executable
 * of a process inside a container: /proc/<pid>/exe there is the sealed memfd, which cannot be written
 * (CVE-2019-5736: a container overwriting the runtime through /proc/self/exe, also through a
 * `#!/proc/self/exe` interpreter line).
 *
 * Called as:  argv = { MODE, PATH, ARG0, ARG1, ... }, fd 3 = the error pipe (not close-on-exec),
 *             the signals below blocked by the caller.
 *   MODE "i"  execve(PATH, ARG0..., envp) in place (container init, already PID 1).
 *   MODE "e"  fork; the child (in the container's PID namespace) starts a session and execs; this
 *             process forwards SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGUSR1 and SIGUSR2 to it and exits
 *             with its status (128 + signal when killed).
 *   MODE "t"  as "e", and the child takes fd 0 (a pty) as its controlling terminal.
 * A failure before the command runs writes {step, errno} (two ints, the same report as spawn.c) to
 * fd 3 and exits 127; EOF on the pipe means the command was exec'd. Syscall numbers are x86_64's. */

/* The step numbers (SYSBOX_STEP_*), as assembler constants. */
#include "CSysbox.h"

#if defined(__x86_64__)

/* SIGHUP 1, SIGINT 2, SIGQUIT 3, SIGUSR1 10, SIGUSR2 12, SIGTERM 15, SIGCHLD 17: bit (sig - 1). */
#define FORWARD_SET 0x14a07

    .section .rodata.sysbox_trampoline, "a"
    .balign 64
    .globl sysbox_trampoline_elf
    .type sysbox_trampoline_elf, @object
sysbox_trampoline_elf:
t_ehdr:
    .byte 0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0     /* ELF, 64-bit, little-endian, version 1, SysV */
    .byte 0, 0, 0, 0, 0, 0, 0, 0
    .short 3                                      /* ET_DYN: loaded at a random base */
    .short 62                                     /* EM_X86_64 */
    .long 1
    .quad t_entry - t_ehdr                        /* e_entry */
    .quad t_phdr - t_ehdr                         /* e_phoff */
    .quad 0                                       /* e_shoff */
    .long 0                                       /* e_flags */
    .short 64, 56, 2, 64, 0, 0                    /* ehsize, phentsize, phnum, shentsize, shnum, shstrndx */
t_phdr:
    .long 1, 5                                    /* PT_LOAD, R|X */
    .quad 0, 0, 0                                 /* offset, vaddr, paddr */
    .quad t_end - t_ehdr, t_end - t_ehdr          /* filesz, memsz */
    .quad 0x1000
    .long 0x6474e551, 6                           /* PT_GNU_STACK, R|W: no executable stack */
    .quad 0, 0, 0, 0, 0, 16

/* Registers kept: r12 argc, r13 argv, r14 envp, r15 child pid, bl mode. Scratch on the stack:
 * 0(%rsp) report {step, errno}, 8 wait status, 16 signal set, 24 empty set, 32.. siginfo (128). */
t_entry:
    mov (%rsp), %r12
    lea 8(%rsp), %r13
    lea 16(%rsp,%r12,8), %r14
    and $-16, %rsp
    sub $256, %rsp
    cmp $3, %r12
    jb t_usage
    mov (%r13), %rax
    movzbl (%rax), %ebx
    /* prctl(PR_SET_DUMPABLE, 0): /proc/<pid>/exe of this process only for CAP_SYS_PTRACE. */
    mov $157, %eax
    mov $4, %edi
    xor %esi, %esi
    xor %edx, %edx
    xor %r10d, %r10d
    xor %r8d, %r8d
    syscall
    cmp $0x69, %bl                                /* 'i' */
    je t_exec
    movq $FORWARD_SET, 16(%rsp)                   /* rt_sigprocmask(SIG_BLOCK, &set, NULL, 8): the */
    mov $14, %eax                                 /* caller blocked them already; made sure here */
    xor %edi, %edi
    lea 16(%rsp), %rsi
    xor %edx, %edx
    mov $8, %r10d
    syscall
    /* prctl(PR_SET_PDEATHSIG, SIGKILL): gone with the sysbox that runs the command. */
    mov $157, %eax
    mov $1, %edi
    mov $9, %esi
    syscall
    mov $57, %eax                                 /* fork */
    syscall
    test %rax, %rax
    js t_fork_failed
    jz t_child
    mov %rax, %r15
    mov $3, %eax                                  /* close(3): the child holds the pipe until execve */
    mov $3, %edi
    syscall
t_wait:
    movq $FORWARD_SET, 16(%rsp)
    mov $128, %eax                                /* rt_sigtimedwait(&set, &info, NULL, 8) */
    lea 16(%rsp), %rdi
    lea 32(%rsp), %rsi
    xor %edx, %edx
    mov $8, %r10d
    syscall
    cmp $17, %rax
    je t_reap
    test %rax, %rax
    js t_wait                                     /* EINTR */
    mov %eax, %esi                                /* kill(child, sig) */
    mov $62, %eax
    mov %r15, %rdi
    syscall
    jmp t_wait
t_reap:
    mov $61, %eax                                 /* wait4(child, &status, WNOHANG, NULL) */
    mov %r15, %rdi
    lea 8(%rsp), %rsi
    mov $1, %edx
    xor %r10d, %r10d
    syscall
    cmp %r15, %rax
    je t_status
    test %rax, %rax
    jz t_wait                                     /* not this child yet */
    cmp $-4, %rax
    je t_reap
    mov $255, %edi                                /* the child is lost: as spawn.c did */
    jmp t_exit
t_status:
    mov 8(%rsp), %eax
    mov %eax, %edi
    and $0x7f, %edi
    jnz t_signaled
    shr $8, %eax
    movzbl %al, %edi
    jmp t_exit
t_signaled:
    add $128, %edi
t_exit:
    mov $231, %eax                                /* exit_group */
    syscall
    hlt

t_child:
    mov $112, %eax                                /* setsid: no terminal of the host's session */
    syscall
    cmp $0x74, %bl                                /* 't' */
    jne t_exec
    mov $16, %eax                                 /* ioctl(0, TIOCSCTTY, 0) */
    xor %edi, %edi
    mov $0x540e, %esi
    xor %edx, %edx
    syscall
    test %rax, %rax
    jns t_exec
    mov $SYSBOX_STEP_PTY, %ecx
    jmp t_report
t_exec:
    movq $0, 24(%rsp)                             /* rt_sigprocmask(SIG_SETMASK, &empty, NULL, 8) */
    mov $14, %eax
    mov $2, %edi
    lea 24(%rsp), %rsi
    xor %edx, %edx
    mov $8, %r10d
    syscall
    mov $72, %eax                                 /* fcntl(3, F_SETFD, FD_CLOEXEC) */
    mov $3, %edi
    mov $2, %esi
    mov $1, %edx
    syscall
    mov $59, %eax                                 /* execve(argv[1], &argv[2], envp) */
    mov 8(%r13), %rdi
    lea 16(%r13), %rsi
    mov %r14, %rdx
    syscall
    mov $SYSBOX_STEP_EXEC, %ecx
    jmp t_report
t_fork_failed:
    mov $SYSBOX_STEP_FORK, %ecx
t_report:
    neg %eax
    mov %ecx, 0(%rsp)
    mov %eax, 4(%rsp)
    mov $1, %eax                                  /* write(3, &report, 8) */
    mov $3, %edi
    mov %rsp, %rsi
    mov $8, %edx
    syscall
t_usage:
    mov $127, %edi
    jmp t_exit
t_end:
    .size sysbox_trampoline_elf, t_end - t_ehdr

    .section .rodata
    .balign 8
    .globl sysbox_trampoline_elf_size
    .type sysbox_trampoline_elf_size, @object
sysbox_trampoline_elf_size:
    .quad t_end - t_ehdr
    .size sysbox_trampoline_elf_size, 8
    .section .note.GNU-stack, "", @progbits

#else

/* No trampoline for this architecture yet: spawn.c then runs the same steps itself (see its comment). */
    .section .rodata
    .balign 8
    .globl sysbox_trampoline_elf
    .globl sysbox_trampoline_elf_size
sysbox_trampoline_elf:
sysbox_trampoline_elf_size:
    .quad 0
    .section .note.GNU-stack, "", %progbits

#endif
