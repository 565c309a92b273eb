"""A PyTorch transcription of S3-Rec as the authors' reference code computes it
(padded, left-aligned batches), written from ../../../shared/SPEC.md sections 2-4.
It is the ground truth the C++ implementation is checked against."""
import math

import torch
import torch.nn as nn


def gelu(x):
    return x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


ACT = {"gelu": gelu, "relu": torch.relu, "swish": lambda x: x * torch.sigmoid(x),
       "tanh": torch.tanh, "sigmoid": torch.sigmoid}


class LayerNorm(nn.Module):
    """TF style: epsilon inside the square root."""

    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d))
        self.eps = eps

    def forward(self, x):
        u = x.mean(-1, keepdim=True)
        s = (x - u).pow(2).mean(-1, keepdim=True)
        return self.weight * ((x - u) / torch.sqrt(s + self.eps)) + self.bias


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["hidden_size"]
        self.h = c["n_heads"]
        self.query, self.key, self.value, self.dense = (nn.Linear(d, d) for _ in range(4))
        self.LayerNorm = LayerNorm(d, c["layer_norm_eps"])
        self.attn_dropout = nn.Dropout(c["attn_dropout_prob"])
        self.out_dropout = nn.Dropout(c["hidden_dropout_prob"])

    def heads(self, x):  # [B, L, d] -> [B, h, L, d/h]
        B, L, d = x.shape
        return x.view(B, L, self.h, d // self.h).permute(0, 2, 1, 3)

    def forward(self, x, mask):
        q, k, v = self.heads(self.query(x)), self.heads(self.key(x)), self.heads(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + mask
        probs = self.attn_dropout(torch.softmax(scores, -1))
        ctx = (probs @ v).permute(0, 2, 1, 3).reshape(x.shape)
        return self.LayerNorm(self.out_dropout(self.dense(ctx)) + x)


class Intermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["hidden_size"]
        self.dense_1 = nn.Linear(d, c["inner_size"])
        self.act = ACT[c["hidden_act"]]
        self.dense_2 = nn.Linear(c["inner_size"], d)
        self.LayerNorm = LayerNorm(d, c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, x):
        return self.LayerNorm(self.dropout(self.dense_2(self.act(self.dense_1(x)))) + x)


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = SelfAttention(c)
        self.intermediate = Intermediate(c)

    def forward(self, x, mask):
        return self.intermediate(self.attention(x, mask))


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([Layer(c) for _ in range(c["n_layers"])])

    def forward(self, x, mask):
        for l in self.layer:
            x = l(x, mask)
        return x


class S3RecModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        d, N, A = c["hidden_size"], c["n_items"], c["n_attributes"]
        self.mask_id = N + 1
        self.item_embeddings = nn.Embedding(N + 2, d, padding_idx=0)
        self.attribute_embeddings = nn.Embedding(A + 1, d, padding_idx=0)
        self.position_embeddings = nn.Embedding(c["max_seq_length"], d)
        self.item_encoder = Encoder(c)
        self.LayerNorm = LayerNorm(d, c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])
        self.aap_norm, self.mip_norm, self.map_norm, self.sp_norm = (nn.Linear(d, d) for _ in range(4))
        self.apply(self.init_weights)
        self.bce = nn.BCELoss(reduction="none")

    def init_weights(self, m):
        # Reference: every Linear/Embedding weight N(0, initializer_range) -- padding rows included.
        if isinstance(m, (nn.Linear, nn.Embedding)):
            m.weight.data.normal_(0.0, self.c["initializer_range"])
        if isinstance(m, nn.Linear) and m.bias is not None:
            m.bias.data.zero_()

    def embed(self, seq):
        # The reference left-pads to max_seq_length, so the last column is position max_len-1.
        # A batch whose leading all-padding columns were trimmed keeps those positions.
        L = self.c["max_seq_length"]
        pos = torch.arange(L - seq.shape[1], L).unsqueeze(0).expand_as(seq)
        return self.dropout(self.LayerNorm(self.item_embeddings(seq) + self.position_embeddings(pos)))

    def encode(self, seq, causal):
        if causal:
            L = seq.shape[1]
            allowed = (seq > 0).long().unsqueeze(1).unsqueeze(2) * torch.tril(torch.ones(L, L, dtype=torch.long))
            mask = (1.0 - allowed.to(self.position_embeddings.weight.dtype)) * -10000.0
        else:
            mask = ((seq == 0).to(self.position_embeddings.weight.dtype) * -1e8).unsqueeze(1).unsqueeze(2)
        return self.item_encoder(self.embed(seq), mask)

    # SPEC section 3: returns the four summed losses.
    def pretrain(self, attributes, masked, pos_items, neg_items, seg_ctx, pos_seg, neg_seg):
        F = self.encode(masked, causal=False)
        d = F.shape[-1]
        A1 = self.attribute_embeddings.weight.shape[0]
        att = attributes.view(-1, A1).to(F.dtype)
        attr_w = self.attribute_embeddings.weight
        aap_score = torch.sigmoid(self.aap_norm(F).view(-1, d) @ attr_w.t())
        aap_mask = ((masked != self.mask_id) & (masked != 0)).to(F.dtype).flatten().unsqueeze(-1)
        aap = torch.sum(self.bce(aap_score, att) * aap_mask)

        h = self.mip_norm(F.view(-1, d))
        f_pos = torch.sigmoid(torch.sum(h * self.item_embeddings(pos_items).view(-1, d), -1))
        f_neg = torch.sigmoid(torch.sum(h * self.item_embeddings(neg_items).view(-1, d), -1))
        dist = torch.sigmoid(f_pos - f_neg)
        mip_mask = (masked == self.mask_id).to(F.dtype).flatten()
        mip = torch.sum(self.bce(dist, torch.ones_like(dist)) * mip_mask)

        map_score = torch.sigmoid(self.map_norm(F).view(-1, d) @ attr_w.t())
        map_ = torch.sum(self.bce(map_score, att) * mip_mask.unsqueeze(-1))

        c = self.encode(seg_ctx, causal=False)[:, -1, :]
        p = self.encode(pos_seg, causal=False)[:, -1, :]
        n = self.encode(neg_seg, causal=False)[:, -1, :]
        s = self.sp_norm(c)
        sp_dist = torch.sigmoid(torch.sigmoid(torch.sum(s * p, -1)) - torch.sigmoid(torch.sum(s * n, -1)))
        sp = torch.sum(self.bce(sp_dist, torch.ones_like(sp_dist)))
        return aap, mip, map_, sp

    # SPEC section 4: mean over the batch's target positions.
    def finetune_loss(self, input_ids, target_pos, target_neg, loss_type):
        F = self.encode(input_ids, causal=True)
        d = F.shape[-1]
        istarget = (target_pos > 0).flatten().to(F.dtype)
        seq = F.view(-1, d)
        pl = torch.sum(seq * self.item_embeddings(target_pos).view(-1, d), -1)
        nl = torch.sum(seq * self.item_embeddings(target_neg).view(-1, d), -1)
        if loss_type == "BCE":
            per = -torch.log(torch.sigmoid(pl) + 1e-24) - torch.log(1 - torch.sigmoid(nl) + 1e-24)
            return torch.sum(per * istarget) / torch.sum(istarget)
        if loss_type == "BPR":
            per = -torch.log(1e-10 + torch.sigmoid(pl - nl))
            return torch.sum(per * istarget) / torch.sum(istarget)
        N = self.c["n_items"]
        logits = seq @ self.item_embeddings.weight[1:N + 1].t()
        keep = target_pos.flatten() > 0
        return nn.functional.cross_entropy(logits[keep], target_pos.flatten()[keep] - 1)
