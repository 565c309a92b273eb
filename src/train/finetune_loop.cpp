#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <vector>

#include "s3rec/distributed.h"
#include "s3rec/rng.h"
#include "s3rec/sampling.h"
#include "s3rec/training.h"

namespace s3rec {

bool EarlyStopping::update(double score) {
  if (!any_ || score > best_) {
    any_ = true;
    best_ = score;
    bad_ = 0;
    return true;
  }
  ++bad_;
  return false;
}

FinetuneResult finetune(S3RecModel& model, Optimizer& optim, const Dataset& d, const FinetuneOptions& opt,
                        const TrainHooks& hooks, const std::function<void(const FinetuneEpoch&)>& on_epoch) {
  const ModelConfig& c = model.config();
  FinetuneSampler sampler(d, c.max_seq_length, opt.train_fraction);
  const long total = long(sampler.num_users());
  FinetuneBatch batch, shard;
  const bool dp = opt.data_parallel && dist::size() > 1;
  EarlyStopping stopper(opt.stopping_step);
  // the reported metrics, and the selection metric (reported too, appended when missing)
  std::vector<MetricSpec> report = opt.metrics.empty() ? default_metrics(opt.eval_mode) : opt.metrics;
  const MetricSpec select = valid_metric_spec(opt.eval_mode, opt.valid_metric);
  if (std::find(report.begin(), report.end(), select) == report.end()) report.push_back(select);
  FinetuneProgress st;
  if (opt.resume) {
    st = *opt.resume;
    if (st.best_params.size() != model.params().values().size())
      throw std::invalid_argument("finetune: the resumed best parameters do not fit the model");
  } else {
    st.best_params = model.params().values();
  }
  stopper.restore(st.any_score, st.best_score, st.bad_epochs);
  FinetuneResult res;
  res.best_epoch = st.best_epoch;
  res.best_score = st.best_score;
  res.valid = st.best_valid;
  res.epochs_run = st.epochs_done;
  // an uninterrupted run stops after the epoch that exhausts the patience
  bool stop = st.epochs_done > 0 && stopper.should_stop();
  model.params().zero_grad();  // then every step leaves them zero (Optimizer::step)
  for (int epoch = st.epochs_done; epoch < opt.epochs && !stop; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    Rng rng(splitmix64(opt.seed) ^ splitmix64(0x46494E45ull + uint64_t(epoch)));
    sampler.shuffle(rng);
    FinetuneEpoch rep;
    rep.epoch = epoch + 1;
    long step = 0;
    double loss_sum = 0.0;
    for (long b = 0; b < total; b += opt.batch_size, ++step) {
      const long e = std::min(total, b + opt.batch_size);
      sampler.make_batch(size_t(b), size_t(e), rng, batch);
      if (batch.input.num_tokens() == 0) continue;
      const FinetuneBatch* mine = &batch;
      if (dp) {
        long lo = 0, hi = 0;
        dist::shard(e - b, lo, hi);
        shard = slice(batch, int(lo), int(hi));
        mine = &shard;
      }
      if (opt.loss == LossType::CE)  // scores every item
        optim.catch_up_all();
      else
        optim.prepare_rows(model.item_embeddings_id(), item_rows(*mine));
      const uint64_t key = splitmix64(opt.seed ^ 0xF17Eull ^ (uint64_t(epoch) << 32) ^ uint64_t(step));
      double loss = 0.0;
      if (mine->input.num_tokens() > 0) loss = model.finetune_step(*mine, opt.loss, true, key);
      if (dp) {  // the batch mean = token-weighted mean of the shards' means
        const float w = float(mine->input.num_tokens()) / float(batch.input.num_tokens());
        std::vector<float>& g = model.params().grads();
        for (float& x : g) x *= w;
        dist::allreduce_sum(g.data(), g.size());
        for (RowSparseGrad& rg : model.params().row_grads()) {
          float* v = rg.values();
          for (size_t i = 0; i < rg.size() * size_t(rg.dim()); ++i) v[i] *= w;
          dist::allreduce_rows(rg);
        }
        loss *= double(w);
        dist::allreduce_sum(&loss, 1);
      }
      loss_sum += loss;
      rep.positions += batch.input.num_tokens();
      optim.step();
      if (hooks.on_batch) hooks.on_batch(e, total);
    }
    rep.loss = step > 0 ? loss_sum / double(step) : 0.0;
    rep.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    optim.catch_up_all();  // evaluation reads every item
    rep.valid = evaluate(model, d, EvalSplit::Valid, opt.eval_mode, report, 512, dp);
    rep.score = metric(rep.valid, select.name());
    if (opt.log_test) rep.test = evaluate(model, d, EvalSplit::Test, opt.eval_mode, report, 512, dp);
    rep.improved = stopper.update(rep.score);
    if (rep.improved) {
      st.best_params = model.params().values();
      st.best_epoch = res.best_epoch = rep.epoch;
      res.best_score = rep.score;
      st.best_valid = res.valid = rep.valid;
    }
    st.epochs_done = res.epochs_run = rep.epoch;
    st.any_score = stopper.any();
    st.best_score = stopper.best();
    st.bad_epochs = stopper.bad_epochs();
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rep.progress = &st;
    if (on_epoch) on_epoch(rep);
    stop = stopper.should_stop();
  }
  model.params().values() = st.best_params;
  res.test = evaluate(model, d, EvalSplit::Test, opt.eval_mode, report, 512, dp);
  return res;
}

}  // namespace s3rec
