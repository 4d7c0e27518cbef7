// Package optim holds warm's optimiser: AdamW with decoupled weight decay
// (PyTorch's torch.optim.AdamW, step for step), global-norm gradient
// clipping (torch.nn.utils.clip_grad_norm_) and learning-rate schedules
// (linear warm-up, then cosine or linear decay to a floor). It works on a
// model's flat parameter and gradient buffers, in parallel over elements
// through kernels.ParallelFor, with results independent of the thread
// count.
package optim
