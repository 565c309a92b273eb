#pragma once
// Data-parallel training across processes with MPI (built with S3REC_WITH_MPI).
// A process started by mpirun joins the world communicator; any other process (or a
// build without MPI) is rank 0 of 1 and every call below is a no-op.
#include <cstddef>

#include "s3rec/row_sparse_grad.h"

namespace s3rec::dist {

// Initialises MPI when the process was launched by mpirun/srun (their environment
// variables are present); call first thing in main. finalize() at exit.
void init(int* argc, char*** argv);
void finalize();
// Ends every rank of the job (MPI_Abort) with this exit code: an error on one rank must not
// leave the others waiting in a collective. Returns only when there is no MPI job.
void abort_job(int code);

int rank();   // 0 without MPI
int size();   // 1 without MPI
inline bool is_root() { return rank() == 0; }

// In place, across all ranks: element-wise sums.
void allreduce_sum(float* data, size_t n);
void allreduce_sum(double* data, size_t n);
void allreduce_sum(long* data, size_t n);
void barrier();
// Row-sparse gradients summed across ranks: each rank sends its touched rows (ids and
// values: allgatherv) and every rank adds all of them in rank order, so all end with the
// same rows and sums. Returns the bytes this rank received.
size_t allreduce_rows(RowSparseGrad& g);

// This rank's share [lo, hi) of n items split into size() contiguous blocks.
inline void shard(long n, long& lo, long& hi) {
  const long r = rank(), k = size();
  lo = n * r / k;
  hi = n * (r + 1) / k;
}

}  // namespace s3rec::dist
