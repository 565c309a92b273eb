#include "s3rec/distributed.h"

#include <cstdlib>

#if S3REC_WITH_MPI
#include <mpi.h>
#endif

namespace s3rec::dist {

namespace {
int g_rank = 0, g_size = 1;
}  // namespace

#if S3REC_WITH_MPI

namespace {
bool g_active = false;

bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"})
    if (std::getenv(v)) return true;
  return false;
}
}  // namespace

void init(int* argc, char*** argv) {
  if (g_active || !launched_by_mpi()) return;
  int provided = 0;
  // only the main thread calls MPI (OpenMP regions never do)
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  g_active = true;
}

void finalize() {
  if (g_active) MPI_Finalize();
  g_active = false;
}

void allreduce_sum(float* data, size_t n) {
  if (g_size > 1 && n > 0) MPI_Allreduce(MPI_IN_PLACE, data, int(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}
void allreduce_sum(double* data, size_t n) {
  if (g_size > 1 && n > 0) MPI_Allreduce(MPI_IN_PLACE, data, int(n), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}
void allreduce_sum(long* data, size_t n) {
  if (g_size > 1 && n > 0) MPI_Allreduce(MPI_IN_PLACE, data, int(n), MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
}
void barrier() {
  if (g_size > 1) MPI_Barrier(MPI_COMM_WORLD);
}

#else

void init(int*, char***) {}
void finalize() {}
void allreduce_sum(float*, size_t) {}
void allreduce_sum(double*, size_t) {}
void allreduce_sum(long*, size_t) {}
void barrier() {}

#endif

int rank() { return g_rank; }
int size() { return g_size; }

}  // namespace s3rec::dist
