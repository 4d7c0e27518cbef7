package safetensors

// Keys of the safetensors __metadata__ map that warm reads and writes. All
// values are strings, as the format requires.
const (
	// MetaFormat is the framework tag Hugging Face loaders expect ("pt").
	MetaFormat = "format"
	// MetaRole is what the checkpoint is: "base", "sft", "rm" or "warm"
	// (a weight average).
	MetaRole = "warm.role"
	// MetaFingerprint is the content fingerprint of the checkpoint itself
	// (see Fingerprinter), written by whoever writes the checkpoint.
	MetaFingerprint = "warm.fingerprint"
	// MetaBaseFingerprint is the fingerprint of the shared pre-trained base
	// the checkpoint was fine-tuned from; members of a merge must agree on it.
	MetaBaseFingerprint = "warm.base_fingerprint"
	// MetaStep is the training step of the checkpoint (decimal).
	MetaStep = "warm.step"
	// MetaHParams holds the training hyper-parameters as a JSON object.
	MetaHParams = "warm.hparams"
	// MetaMerge describes how a weight average was made (JSON, see the
	// merge package's Info).
	MetaMerge = "warm.merge"
	// MetaMemberCount is the number of members averaged into a merge
	// (decimal); a running update (merge --into) starts from it.
	MetaMemberCount = "warm.member_count"
)
