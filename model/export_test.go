package model

// Test helpers for the external test package (model_test), which can import
// packages that import model (optim).
var (
	NewTestModel = newTestModel
	PaddedBatch  = paddedBatch
)
