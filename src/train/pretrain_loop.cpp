#include <chrono>
#include <cmath>

#include "s3rec/distributed.h"
#include "s3rec/rng.h"
#include "s3rec/sampling.h"
#include "s3rec/training.h"

namespace s3rec {

void pretrain(S3RecModel& model, Optimizer& optim, const Dataset& d, const PretrainOptions& opt, const TrainHooks& hooks,
              const std::function<void(const PretrainEpoch&)>& on_epoch) {
  const ModelConfig& c = model.config();
  if (d.item_attributes.rows() < c.item_rows())
    throw std::invalid_argument("pretrain: the dataset's attribute table has fewer rows than the item vocabulary");
  const AttributeTable& attrs = d.item_attributes;
  PretrainSampler sampler(d, c.max_seq_length, opt.mask_ratio, opt.train_fraction);
  const long total = long(sampler.num_samples());
  PretrainBatch batch, shard;
  const bool dp = opt.data_parallel && dist::size() > 1;
  model.params().zero_grad();  // then every step leaves them zero (Optimizer::step)
  for (int epoch = opt.start_epoch; epoch < opt.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    Rng rng(splitmix64(opt.seed) ^ splitmix64(0x5052455452ull + uint64_t(epoch)));  // per-epoch stream
    sampler.shuffle(rng);
    PretrainEpoch rep;
    rep.epoch = epoch + 1;
    long step = 0;
    for (long b = 0; b < total; b += opt.batch_size, ++step) {
      const long e = std::min(total, b + opt.batch_size);
      sampler.make_batch(size_t(b), size_t(e), rng, batch);  // the global batch, the same on every rank
      const PretrainBatch* mine = &batch;
      if (dp) {
        long lo = 0, hi = 0;
        dist::shard(e - b, lo, hi);
        shard = slice(batch, int(lo), int(hi));
        mine = &shard;
      }
      optim.prepare_rows(model.item_embeddings_id(), item_rows(*mine));  // rows this step reads, up to date
      const uint64_t key = splitmix64(opt.seed ^ (uint64_t(epoch) << 32) ^ uint64_t(step));
      PretrainLosses l;
      if (mine->masked.num_seqs() > 0) l = model.pretrain_step(*mine, attrs, opt.weights, true, key);
      if (dp) {  // sums of sums: the gradient of the whole batch's loss
        dist::allreduce_sum(model.params().grads().data(), model.params().dense_total());
        rep.exchanged_bytes += double(model.params().dense_total()) * sizeof(float);
        for (RowSparseGrad& g : model.params().row_grads()) rep.exchanged_bytes += double(dist::allreduce_rows(g));
        double parts[4] = {l.aap, l.mip, l.map, l.sp};
        dist::allreduce_sum(parts, 4);
        l = {parts[0], parts[1], parts[2], parts[3]};
      }
      // stop before a non-finite value reaches the parameters, and say where it appeared
      const std::string bad = model.params().first_nonfinite_grad();
      if (!std::isfinite(l.aap) || !std::isfinite(l.mip) || !std::isfinite(l.map) || !std::isfinite(l.sp) ||
          !bad.empty())
        throw NonFiniteError("pre-training epoch " + std::to_string(epoch + 1) + " step " + std::to_string(step) +
                             ": non-finite " + (bad.empty() ? std::string("loss") : "gradient of " + bad) +
                             " (aap " + std::to_string(l.aap) + ", mip " + std::to_string(l.mip) + ", map " +
                             std::to_string(l.map) + ", sp " + std::to_string(l.sp) + ")");
      rep.touched_rows += long(model.params().row_grad(model.item_embeddings_id()).size());
      ++rep.steps;
      optim.step();
      rep.losses.aap += l.aap;
      rep.losses.mip += l.mip;
      rep.losses.map += l.map;
      rep.losses.sp += l.sp;
      rep.samples += e - b;
      const long tokens = batch.masked.num_tokens();
      rep.positions += (opt.weights.aap != 0 || opt.weights.mip != 0 || opt.weights.map != 0 ? tokens : 0) +
                       (opt.weights.sp != 0 ? 3 * tokens : 0);
      if (hooks.on_batch) hooks.on_batch(e, total);
    }
    optim.catch_up_all();  // every row current before the epoch's checkpoint (and the same in every run)
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (on_epoch) on_epoch(rep);
  }
}

}  // namespace s3rec
