// An LD_PRELOAD allocation counter for bench/count/counts.py: every malloc, calloc,
// realloc and aligned allocation of the process (operator new included: it calls malloc)
// is counted into /dev/shm/mcount.<pid>, three u64 (allocations, frees, bytes asked for
// by malloc and new), which the counter's reader samples before and after a fixed number of
// deliveries. Allocation counts do not move with the machine's load, unlike CPU time.
// Each call goes on to the allocator the process would have used (RTLD_NEXT): glibc's, or
// the jemalloc the dispatcher binary links, whose blocks glibc's free must never see.
// jemalloc also defines C++'s operator new and delete, which then never call malloc: they
// are counted here too (their mangled names, each forwarded the same way).
// Build: cc -O2 -shared -fPIC -o alloc_counter.so alloc_counter.c -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
static void* (*next_malloc)(size_t);
static void* (*next_calloc)(size_t, size_t);
static void* (*next_realloc)(void*, size_t);
static void (*next_free)(void*);
static void* (*next_memalign)(size_t, size_t);
static int (*next_posix_memalign)(void**, size_t, size_t);
static void* (*next_aligned_alloc)(size_t, size_t);
// dlsym may allocate before the pointers are set: those few blocks come from here and are
// never freed to the next allocator.
static char bootstrap[8192];
static size_t bootstrap_used;
static int resolving;
static void* from_bootstrap(size_t n) {
  n = (n + 15) & ~(size_t)15;
  if (bootstrap_used + n > sizeof bootstrap) return NULL;
  void* p = bootstrap + bootstrap_used;
  bootstrap_used += n;
  return p;
}
static int is_bootstrap(void* p) {
  return (char*)p >= bootstrap && (char*)p < bootstrap + sizeof bootstrap;
}
static void resolve(void) {
  if (next_malloc || resolving) return;
  resolving = 1;
  next_calloc = dlsym(RTLD_NEXT, "calloc");
  next_realloc = dlsym(RTLD_NEXT, "realloc");
  next_free = dlsym(RTLD_NEXT, "free");
  next_memalign = dlsym(RTLD_NEXT, "memalign");
  next_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
  next_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
  next_malloc = dlsym(RTLD_NEXT, "malloc");
  resolving = 0;
}
static volatile uint64_t dummy[4];
static volatile uint64_t* c = dummy;
// Calls made from inside a counted one (libstdc++'s new calling malloc, a sized delete
// calling the unsized one and free) are the same block: counted once, at the outermost.
static __thread int depth __attribute__((tls_model("initial-exec")));
static void count(int which, uint64_t n) {
  if (depth == 0) __atomic_add_fetch(&c[which], n, __ATOMIC_RELAXED);
}
__attribute__((constructor)) static void init(void) {
  resolve();
  char path[64];
  snprintf(path, sizeof path, "/dev/shm/mcount.%d", (int)getpid());
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  if (ftruncate(fd, 4096) != 0) return;
  void* p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p != MAP_FAILED) c = p;
}
void* malloc(size_t n) {
  resolve();
  if (!next_malloc) return from_bootstrap(n);
  count(0, 1);
  count(2, n);
  return next_malloc(n);
}
void* calloc(size_t a, size_t b) {
  resolve();
  if (!next_calloc) {
    void* p = from_bootstrap(a * b);
    return p;  // static memory is already zero
  }
  count(0, 1);
  return next_calloc(a, b);
}
void* realloc(void* p, size_t n) {
  resolve();
  count(0, 1);
  if (is_bootstrap(p)) {
    // Its size is unknown: copy what it can hold, up to the end of the bootstrap area.
    const size_t room = (size_t)(bootstrap + sizeof bootstrap - (char*)p);
    void* q = next_malloc ? next_malloc(n) : from_bootstrap(n);
    if (q) memcpy(q, p, n < room ? n : room);
    return q;
  }
  return next_realloc(p, n);
}
void free(void* p) {
  if (!p || is_bootstrap(p)) return;
  count(1, 1);
  resolve();
  next_free(p);
}
void* memalign(size_t a, size_t n) {
  resolve();
  count(0, 1);
  return next_memalign(a, n);
}
int posix_memalign(void** r, size_t a, size_t n) {
  resolve();
  count(0, 1);
  return next_posix_memalign(r, a, n);
}
void* aligned_alloc(size_t a, size_t n) {
  resolve();
  count(0, 1);
  return next_aligned_alloc(a, n);
}

// operator new and delete, as libstdc++ or jemalloc defines them: the allocating ones
// count an allocation, the others a free.
#define FORWARD_NEW(name, params, args)                         \
  void* name params {                                           \
    static void* (*next) params;                                \
    if (!next) next = dlsym(RTLD_NEXT, #name);                  \
    count(0, 1);                                                \
    count(2, n);                                                \
    ++depth;                                                    \
    void* r = next args;                                        \
    --depth;                                                    \
    return r;                                                   \
  }
#define FORWARD_DELETE(name, params, args)                      \
  void name params {                                            \
    static void (*next) params;                                 \
    if (!next) next = dlsym(RTLD_NEXT, #name);                  \
    if (p) count(1, 1);                                         \
    ++depth;                                                    \
    next args;                                                  \
    --depth;                                                    \
  }
typedef struct { int unused; } nothrow_t;
FORWARD_NEW(_Znwm, (size_t n), (n))
FORWARD_NEW(_Znam, (size_t n), (n))
FORWARD_NEW(_ZnwmRKSt9nothrow_t, (size_t n, const nothrow_t* t), (n, t))
FORWARD_NEW(_ZnamRKSt9nothrow_t, (size_t n, const nothrow_t* t), (n, t))
FORWARD_NEW(_ZnwmSt11align_val_t, (size_t n, size_t a), (n, a))
FORWARD_NEW(_ZnamSt11align_val_t, (size_t n, size_t a), (n, a))
FORWARD_DELETE(_ZdlPv, (void* p), (p))
FORWARD_DELETE(_ZdaPv, (void* p), (p))
FORWARD_DELETE(_ZdlPvm, (void* p, size_t n), (p, n))
FORWARD_DELETE(_ZdaPvm, (void* p, size_t n), (p, n))
FORWARD_DELETE(_ZdlPvSt11align_val_t, (void* p, size_t a), (p, a))
FORWARD_DELETE(_ZdaPvSt11align_val_t, (void* p, size_t a), (p, a))
FORWARD_DELETE(_ZdlPvmSt11align_val_t, (void* p, size_t n, size_t a), (p, n, a))
FORWARD_DELETE(_ZdaPvmSt11align_val_t, (void* p, size_t n, size_t a), (p, n, a))
