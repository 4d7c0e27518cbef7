// Package pipeline runs warm's jobs end to end: pre-training a base model,
// supervised fine-tuning with snapshots, training reward models (with the
// shared linear-probed head of a WARM sweep), evaluating them, and the demo
// that chains them on the synthetic task. Each job loads its inputs, runs a
// loop of package train, and publishes a checkpoint atomically; the CLI is a
// thin shell that maps flags onto these option structs.
package pipeline
