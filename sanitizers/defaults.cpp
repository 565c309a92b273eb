// Default run-time options of the sanitizers, compiled into every sanitized executable (see
// cmake/Sanitizers.cmake). The runtimes call these hooks before main; ASAN_OPTIONS, LSAN_OPTIONS,
// UBSAN_OPTIONS and TSAN_OPTIONS in the environment still override any option set here.

#define S3REC_SANITIZER_HOOK extern "C" __attribute__((visibility("default"), used)) const char*

// Stack use after return, initialisation order across files and strict C-string checks are off by
// default; the first error ends the process with a non-zero status.
S3REC_SANITIZER_HOOK __asan_default_options() {
  return "detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:"
         "strict_string_checks=1:halt_on_error=1";
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
