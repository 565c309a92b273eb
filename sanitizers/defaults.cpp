// Default run-time options of the sanitizers, compiled into every sanitized executable (see
// cmake/Sanitizers.cmake). The runtimes call these hooks before main; ASAN_OPTIONS, LSAN_OPTIONS,
// UBSAN_OPTIONS and TSAN_OPTIONS in the environment still override any option set here.

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>

#define S3REC_SANITIZER_HOOK extern "C" __attribute__((visibility("default"), used)) const char*

namespace {

// True when Open MPI's mpirun started this process. The hooks run before the C library has set up
// getenv(), so the environment is read from /proc/self/environ with raw system calls; and before
// ASan has mapped its shadow memory, so this function must not be instrumented.
__attribute__((no_sanitize("address", "thread", "undefined"))) bool started_by_mpirun() {
  const long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/environ", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  static const char key[] = "OMPI_COMM_WORLD_SIZE=";
  char buf[4096];
  size_t matched = 0;    // characters of `key` that the current entry starts with
  bool prefix = true;    // the current entry still matches `key` so far
  bool found = false;
  long n;
  while (!found && (n = syscall(SYS_read, fd, buf, sizeof buf)) > 0)
    for (long i = 0; i < n && !found; ++i) {
      if (buf[i] == '\0') {
        matched = 0;
        prefix = true;
      } else if (prefix && buf[i] == key[matched]) {
        found = ++matched == sizeof key - 1;
      } else {
        prefix = false;
      }
    }
  syscall(SYS_close, fd);
  return found;
}

}  // namespace

// Stack use after return, initialisation order across files and strict C-string checks are off by
// default; the first error ends the process with a non-zero status.
// Under mpirun, allocation stacks are unwound in full (slower): Open MPI's own leaks (see
// lsan.supp) are made in plugins it unloads before exit and in code built without frame
// pointers, where the fast unwinder stops before reaching the Open MPI library that owns them.
S3REC_SANITIZER_HOOK __asan_default_options() {
#define S3REC_ASAN_OPTIONS \
  "detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:" \
  "strict_string_checks=1:halt_on_error=1"
  if (started_by_mpirun()) return S3REC_ASAN_OPTIONS ":fast_unwind_on_malloc=0";
  return S3REC_ASAN_OPTIONS;
#undef S3REC_ASAN_OPTIONS
}

// Leak suppressions: only for libraries we do not build (each entry says why).
S3REC_SANITIZER_HOOK __lsan_default_options() {
  return "suppressions=" S3REC_SANITIZER_DIR "/lsan.supp:print_suppressions=0";
}

S3REC_SANITIZER_HOOK __ubsan_default_options() { return "print_stacktrace=1:halt_on_error=1"; }

// TSan builds use clang and LLVM's libomp, whose OpenMP tool libarcher (loaded by libomp on its
// own) tells TSan about OpenMP's barriers and tasks; accesses made inside libraries we do not
// build (libomp itself, OpenBLAS, faiss) are not checked, as libarcher asks.
S3REC_SANITIZER_HOOK __tsan_default_options() {
  return "suppressions=" S3REC_SANITIZER_DIR "/tsan.supp:ignore_noninstrumented_modules=1:halt_on_error=1:"
         "second_deadlock_stack=1";
}
