#pragma once
// The build is portable (-march=x86-64-v2 by default). Hot row kernels are
// compiled three times (baseline, AVX2+FMA, AVX-512) and picked at load time.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(S3REC_NO_CLONES)
#define S3REC_CLONES __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#else
#define S3REC_CLONES
#endif
