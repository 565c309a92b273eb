#pragma once
// Products with one small operand (the encoder's K = 64 layers and the heads):
// C[M x N] = A[M x K] B[K x N] with B small enough to stay in cache, computed in row
// blocks by an AVX-512 register kernel that reads A and B where they are (no packing,
// unlike a general sgemm), starts its accumulators from the bias and runs an
// element-wise epilogue on each finished row block while it is still in cache.
//
// Precision: FP32 by default. BF16 rounds both operands of every product to bfloat16 and
// accumulates in fp32 (vdpbf16ps, AVX512_BF16); it is chosen at run time.
// Without AVX-512 the same calls go to OpenBLAS.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace s3rec {

enum class MatmulPrecision { FP32, BF16 };

// AVX-512F present: the register kernels run (otherwise OpenBLAS does the products).
bool thin_kernels_available();

// AVX512_BF16 present and not disabled by the environment variable S3REC_DISABLE_BF16=1
// (which lets tests check the refusal on any machine).
bool bf16_supported();

// Throws std::runtime_error naming the missing CPU feature when BF16 is asked for and not
// supported. Process-wide; set it before training starts.
void set_matmul_precision(MatmulPrecision p);
MatmulPrecision matmul_precision();
MatmulPrecision parse_matmul_precision(const std::string& s);  // "fp32" | "bf16", else throws

// The small operand op(B) [K x N] of C = A op(B), prepared once in the layout the register
// kernels read for the current precision (a transposed copy, or bfloat16 pairs), so that
// several products can run on the same rows inside one parallel region of the caller.
// op(B) = B [K x N] (leading dimension ldb), or B^T when b_transposed (B is then [N x K]).
// rows: how many rows of A will be multiplied in all, when known; few rows (fp32, B^T) read
// B^T in place by gathers instead of copying it (same results, bit for bit).
class SmallOperand {
 public:
  SmallOperand(int K, int N, const float* B, int ldb, bool b_transposed, long rows = -1);
  // C rows [i0, i1) = A rows [i0, i1) op(B) (+ bias[N]) (+ C when accumulate), on this thread only.
  void multiply_rows(int i0, int i1, const float* A, int lda, const float* bias, bool accumulate, float* C,
                     int ldc) const;
  bool gathered() const { return gathered_; }  // B^T read in place (no transposed copy)
  int K() const { return K_; }
  int N() const { return N_; }

 private:
  int K_, N_;
  bool bf16_, blas_, gathered_ = false;
  const float* B_;  // fp32 operand as given (or in f32_)
  long ldb_;
  bool transposed_;
  std::unique_ptr<float[]> f32_;  // (not vectors: no zero-filling of what is written next)
  std::unique_ptr<uint32_t[]> pairs_;
};

// Runs on rows [r0, r1) of C once they are final, inside the product's parallel region.
using RowEpilogue = std::function<void(int r0, int r1)>;

// C[M x N] = A op(B) (+ bias[N]) (+ C when accumulate), then epi on each finished row block.
// op(B) = B [K x N] (leading dimension ldb), or B^T when b_transposed (B is then [N x K]).
void thin_nn(int M, int N, int K, const float* A, int lda, const float* B, int ldb, bool b_transposed,
             const float* bias, bool accumulate, float* C, int ldc, const RowEpilogue& epi = {});

// dW[N x K] += dY[M x N]^T X[M x K]; db[N] += column sums of dY (when db is not null).
// Threads split the N rows of dW, so the sums run in the same order for any thread count.
void thin_tn(int M, int N, int K, const float* dY, int ldy, const float* X, int ldx, float* dW, int lddw, float* db);

// Rows [n0, n1) of dW (and db) of thin_tn, on the calling thread.
void thin_tn_rows(int n0, int n1, int M, int K, const float* dY, int ldy, const float* X, int ldx, float* dW,
                  int lddw, float* db);

// A fully connected layer's backward pass (weight W [out x in], PyTorch layout) in one
// parallel region: dX[n x in] = dY W (+ dX when accumulate_dx; skipped when dX is null), then
// dx_epi on each finished block of rows of dX; and dW += dY^T X, db += colsum(dY).
void thin_linear_backward(const float* X, int n, int in, const float* W, int out, const float* dY, float* dX,
                          bool accumulate_dx, float* dW, float* db, const RowEpilogue& dx_epi);

}  // namespace s3rec
