/* mtd_crash_handler: the agent's fatal-signal handler (see mtd_crash.h). Everything
 * the handler needs is prepared by mtd_crash_arm: the report directory, the version,
 * the executable's address range and build ID (from dl_iterate_phdr, which takes a
 * lock and so may not run in the handler), a pipe to test addresses with, and an
 * alternate stack for stack overflows. The handler itself formats numbers by hand and
 * calls only functions POSIX lists as async-signal-safe. */
#include "usage/mtd_crash.h"
#include "common/mtd_err.h"
#include "common/mtd_file.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static char g_dir[1024];
static char g_version[64];
static char g_build_id[80];
static uintptr_t g_base, g_lo, g_hi;
static int g_probe[2] = {-1, -1};
static char g_altstack[64 * 1024];

static const struct { int sig; const char *name; } fatal[] = {
    {SIGSEGV, "SIGSEGV"}, {SIGBUS, "SIGBUS"}, {SIGILL, "SIGILL"},
    {SIGFPE, "SIGFPE"},   {SIGABRT, "SIGABRT"}, {SIGTRAP, "SIGTRAP"},
};

/* The build ID note of one PT_NOTE segment, as hex into g_build_id. */
static void build_id(uintptr_t addr, size_t len)
{
    for (size_t off = 0; off + sizeof(ElfW(Nhdr)) <= len;) {
        const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)(addr + off);
        size_t name = (n->n_namesz + 3) & ~3u, desc = (n->n_descsz + 3) & ~3u;
        const uint8_t *d = (const uint8_t *)(n + 1) + name;
        if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && n->n_descsz <= 32 &&
            !memcmp(n + 1, "GNU", 4)) {
            for (size_t i = 0; i < n->n_descsz; i++)
                snprintf(g_build_id + 2 * i, 3, "%02x", d[i]);
            return;
        }
        off += sizeof *n + name + desc;
    }
}

/* The first object dl_iterate_phdr reports is the executable. */
static int find_exe(struct dl_phdr_info *info, size_t size, void *data)
{
    g_base = info->dlpi_addr;
    g_lo = UINTPTR_MAX;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD) {
            g_lo = a < g_lo ? a : g_lo;
            g_hi = a + ph->p_memsz > g_hi ? a + ph->p_memsz : g_hi;
        } else if (ph->p_type == PT_NOTE && !g_build_id[0]) {
            build_id(a, ph->p_memsz);
        }
    }
    return 1;
}

/* --- from here on, only what the handler runs: async-signal-safe --- */

typedef struct {
    char b[4096];
    size_t n;
} out_buf;

static void put(out_buf *o, const char *s)
{
    while (*s && o->n + 1 < sizeof o->b)
        o->b[o->n++] = *s++;
}

static void put_num(out_buf *o, uint64_t v, int base)
{
    char t[24];
    int i = 0;
    do
        t[i++] = "0123456789abcdef"[v % (unsigned)base];
    while ((v /= (unsigned)base) && i < 23);
    if (base == 16)
        put(o, "0x");
    while (i && o->n + 1 < sizeof o->b)
        o->b[o->n++] = t[--i];
}

/* Whether n bytes at p can be read: write(2) fails with EFAULT where they cannot,
 * where reading them directly would fault inside the handler. */
static int readable(uintptr_t p, size_t n)
{
    char sink[16];
    if (write(g_probe[1], (const void *)p, n) != (ssize_t)n)
        return 0;
    return read(g_probe[0], sink, n) == (ssize_t)n;
}

static void put_frame(out_buf *o, uintptr_t pc, int *n)
{
    if (pc < g_lo || pc >= g_hi || *n >= MTD_CRASH_FRAMES)
        return; /* not the agent's own code: left out */
    put(o, "frame ");
    put_num(o, pc - g_base, 16);
    put(o, "\n");
    (*n)++;
}

/* The faulting PC, then the return addresses up the frame-pointer chain. */
static void put_frames(out_buf *o, const ucontext_t *uc)
{
    uintptr_t pc = 0, fp = 0;
#if defined(__x86_64__)
    pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
#elif defined(__aarch64__)
    pc = (uintptr_t)uc->uc_mcontext.pc;
    fp = (uintptr_t)uc->uc_mcontext.regs[29];
#endif
    int n = 0;
    put_frame(o, pc, &n);
    for (int depth = 0; fp && depth < 64; depth++) {
        uintptr_t w[2];
        if ((fp & 7) || !readable(fp, sizeof w))
            break;
        memcpy(w, (const void *)fp, sizeof w); /* [0] caller's frame, [1] return address */
        if (!w[1])
            break;
        put_frame(o, w[1] - 1, &n); /* -1: inside the call, not after it */
        if (w[0] <= fp)
            break; /* frames grow up the stack; anything else is not a chain */
        fp = w[0];
    }
}

static void on_fatal(int sig, siginfo_t *si, void *ctx)
{
    out_buf o;
    o.n = 0;
    const char *name = "SIG?";
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        if (fatal[i].sig == sig)
            name = fatal[i].name;
    struct timespec now = {0, 0};
    clock_gettime(CLOCK_REALTIME, &now);
    put(&o, "openmtd-crash 1\nsignal ");
    put(&o, name);
    if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE) {
        put(&o, "\nfault ");
        put_num(&o, (uintptr_t)si->si_addr, 16);
    }
    put(&o, "\nversion ");
    put(&o, g_version);
    put(&o, "\nbuild_id ");
    put(&o, g_build_id[0] ? g_build_id : "-");
    put(&o, "\ntime ");
    put_num(&o, (uint64_t)now.tv_sec, 10);
    put(&o, "\n");
    put_frames(&o, ctx);
    out_buf path, tmp;
    path.n = 0;
    put(&path, g_dir);
    put(&path, "/crash-");
    put_num(&path, (uint64_t)getpid(), 10);
    put(&path, "-");
    put_num(&path, (uint64_t)now.tv_sec, 10);
    tmp = path;
    put(&tmp, ".tmp");
    put(&path, ".txt");
    tmp.b[tmp.n] = path.b[path.n] = 0;
    int fd = open(tmp.b, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        ssize_t w = write(fd, o.b, o.n);
        close(fd);
        if (w == (ssize_t)o.n)
            rename(tmp.b, path.b); /* whole, or not there */
        else
            unlink(tmp.b);
    }
    /* die of the signal, as without the handler */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, NULL);
    raise(sig);
}

int mtd_crash_arm(const char *state_dir, const char *version)
{
    if (g_probe[0] >= 0)
        return 0; /* armed already */
    if ((size_t)snprintf(g_dir, sizeof g_dir, "%s/crash", state_dir) >= sizeof g_dir ||
        mtd_mkdir_p(g_dir, 0700) != 0)
        return MTD_EIO;
    snprintf(g_version, sizeof g_version, "%s", version);
    dl_iterate_phdr(find_exe, NULL);
    if (pipe2(g_probe, O_CLOEXEC | O_NONBLOCK) != 0)
        return MTD_EIO;
    stack_t ss = {.ss_sp = g_altstack, .ss_size = sizeof g_altstack};
    sigaltstack(&ss, NULL); /* a stack overflow still gets its report */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fatal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        sigaction(fatal[i].sig, &sa, NULL);
    return 0;
}
