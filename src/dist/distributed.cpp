#include "s3rec/distributed.h"

#include <cstdlib>
#include <vector>

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

void abort_job(int code) {
  if (g_active) MPI_Abort(MPI_COMM_WORLD, code);
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

size_t allreduce_rows(RowSparseGrad& g) {
  if (g_size <= 1) return 0;
  const int d = g.dim(), n = int(g.size());
  std::vector<int> counts(static_cast<size_t>(g_size)), displs(static_cast<size_t>(g_size));
  MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
  long total = 0;
  for (int r = 0; r < g_size; ++r) {
    displs[size_t(r)] = int(total);
    total += counts[size_t(r)];
  }
  std::vector<int> rows(static_cast<size_t>(total));
  MPI_Allgatherv(g.rows().data(), n, MPI_INT, rows.data(), counts.data(), displs.data(), MPI_INT, MPI_COMM_WORLD);
  std::vector<int> vcounts(counts), vdispls(displs);
  for (int r = 0; r < g_size; ++r) {
    vcounts[size_t(r)] *= d;
    vdispls[size_t(r)] *= d;
  }
  std::vector<float> values(size_t(total) * d);
  MPI_Allgatherv(g.values(), n * d, MPI_FLOAT, values.data(), vcounts.data(), vdispls.data(), MPI_FLOAT,
                 MPI_COMM_WORLD);
  g.clear();
  for (int r = 0; r < g_size; ++r)  // rank order: the same sums on every rank
    g.scatter_add(values.data() + size_t(displs[size_t(r)]) * d, rows.data() + displs[size_t(r)], counts[size_t(r)],
                  false);
  return size_t(total) * (sizeof(int) + sizeof(float) * size_t(d));
}

#else

void init(int*, char***) {}
void finalize() {}
void abort_job(int) {}
void allreduce_sum(float*, size_t) {}
void allreduce_sum(double*, size_t) {}
void allreduce_sum(long*, size_t) {}
void barrier() {}
size_t allreduce_rows(RowSparseGrad&) { return 0; }

#endif

int rank() { return g_rank; }
int size() { return g_size; }

}  // namespace s3rec::dist
