// Package train holds warm's training loops: language-model pre-training,
// supervised fine-tuning (SFT) with snapshots at chosen steps (the
// "Baklava" initialisations of WARM), and reward-model training with the
// Bradley–Terry loss, optionally after a linear probe of the reward head on
// frozen features.
//
// Every loop shares one engine (Run): AdamW with decoupled weight decay,
// global-norm clipping, warm-up plus cosine or linear decay, a progress
// callback, and periodic training-state checkpoints (weights, optimiser
// moments, step) published atomically. A run is a pure function of its
// Config, its data and its initial weights: the batch of step s and the
// dropout masks of step s depend only on (seed, step), so a run resumed from
// a checkpoint ends with the same bits as an uninterrupted one.
package train
